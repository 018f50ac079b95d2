{#-
    Coin Metrics network metrics of each crypto instrument on each CRYPTO trading day: the latest value
    published by the decision time, at the version known then (realtime_values). Coin Metrics computes UTC day
    D after it closes and publishes it at 06:00 UTC on D+1, so the row for D holds D-1 at best.

    Rows run from each metric's first known day to the last publication of any of these metrics (so a cut of
    the lake after T leaves rows dated <= T unchanged); a value older than var('max_observation_age_days') days
    at D is not current and is null. As in int_prices__realtime, an observation superseded at first
    publication by a later date published no later is dropped first, so the latest observation known is unique
    (a no-op at Coin Metrics' daily cadence, kept because a backfilled file can publish many days at once).
-#}
{%- set metrics = [
    'CapMVRVCur', 'NVTAdj', 'AdrActCnt', 'HashRate', 'SplyAdrTop100', 'SplyCur', 'CapMrktCurUSD', 'PriceUSD',
    'VtyDayRet30d'
] %}
with

asset_metrics as (
    select * from {{ ref('stg_coinmetrics__asset_metrics') }}
),

instruments as (
    select
        symbol,
        price_series as asset
    from {{ ref('dim_instruments') }}
    where price_source = 'coinmetrics'
),

trading_days as (
    select
        trade_date,
        {{ decision_at('trade_date') }} as decision_at
    from {{ ref('stg_reference__trading_days') }}
    where calendar = 'CRYPTO'
),

observations as (
    select
        instruments.symbol,
        asset_metrics.metric,
        asset_metrics.observed_date,
        asset_metrics.metric_value,
        asset_metrics.version,
        asset_metrics.available_at
    from asset_metrics
    inner join instruments on asset_metrics.asset = instruments.asset
    where
        asset_metrics.metric in ('{{ metrics | join("', '") }}')
    qualify row_number() over (
        partition by instruments.symbol, asset_metrics.metric, asset_metrics.observed_date, asset_metrics.available_at
        order by asset_metrics.version desc
    ) = 1
),

first_published as (
    select
        symbol,
        metric,
        observed_date,
        min(available_at) as first_known_at
    from observations
    group by 1, 2, 3
),

publishable as (
    select
        symbol,
        metric,
        observed_date,
        first_known_at
    from first_published
    qualify min(first_known_at) over (
        partition by symbol, metric order by observed_date desc rows between unbounded preceding and 1 preceding
    ) is null
    or min(first_known_at) over (
        partition by symbol, metric order by observed_date desc rows between unbounded preceding and 1 preceding
    ) > first_known_at
),

versions as (
    select observations.*
    from observations
    semi join publishable
        on
            observations.symbol = publishable.symbol
            and observations.metric = publishable.metric
            and observations.observed_date = publishable.observed_date
),

bounds as (
    select
        symbol,
        metric,
        min(first_known_at) as first_known_at
    from publishable
    group by 1, 2
),

lake_end as (
    select min(trade_date) as last_trade_date
    from trading_days
    where decision_at >= (select max(publishable.first_known_at) as last_first_known_at from publishable)
),

grid as (
    select
        bounds.symbol,
        bounds.metric,
        trading_days.trade_date,
        trading_days.decision_at
    from trading_days
    cross join bounds
    cross join lake_end
    where
        trading_days.decision_at >= bounds.first_known_at
        and trading_days.trade_date <= lake_end.last_trade_date
),

realtime as (
    select * from {{
        realtime_values('versions', 'grid', ['symbol', 'metric'], 'observed_date', ['metric_value'])
    }}
),

final as (
    select
        symbol,
        metric,
        trade_date,
        decision_at,
        observed_date,
        case when observation_age_days <= {{ var('max_observation_age_days', 31) }} then metric_value end
            as metric_value,
        case when observation_age_days <= {{ var('max_observation_age_days', 31) }} then value_known_at end
            as value_known_at,
        observation_age_days
    from realtime
)

select * from final
