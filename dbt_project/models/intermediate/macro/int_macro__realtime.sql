{#-
    The FRED macro series (Treasury yields, published curve spreads, broad dollar) on each NYSE trading day: the
    latest observation published by the decision time, at the vintage known then (realtime_values; a vintage
    is a version, available from its realtime_start at 17:00 New York time). Null values ('.' on bond-market
    holidays) are dropped so they never become the latest value.

    Rows run from each series' first known day to the last publication of any of these series, so the series
    of one day always sit side by side and a cut of the lake after T leaves rows dated <= T unchanged; a value
    older than var('max_observation_age_days') days at D is not current and is null. As in
    int_prices__realtime, observations superseded at first publication by a later date published no later
    (FRED's H.10 publishes a week of the dollar index at once) are dropped first, so the latest observation
    known is unique; and of two rows of one observation claiming the same available_at, the later download wins.
-#}
{%- set series = ['DGS10', 'DGS2', 'DGS3MO', 'T10Y2Y', 'T10Y3M', 'DTWEXBGS'] %}
with

fred as (
    select * from {{ ref('stg_fred__observations') }}
),

trading_days as (
    select
        trade_date,
        {{ decision_at('trade_date') }} as decision_at
    from {{ ref('stg_reference__trading_days') }}
    where calendar = 'NYSE'
),

observations as (
    select
        series_id,
        observation_date,
        observation_value,
        realtime_start,
        version,
        available_at
    from fred
    where
        series_id in ('{{ series | join("', '") }}')
        and observation_value is not null
    qualify row_number() over (
        partition by series_id, observation_date, available_at order by realtime_start desc, version desc
    ) = 1
),

first_published as (
    select
        series_id,
        observation_date,
        min(available_at) as first_known_at
    from observations
    group by 1, 2
),

publishable as (
    select
        series_id,
        observation_date,
        first_known_at
    from first_published
    qualify min(first_known_at) over (
        partition by series_id order by observation_date desc rows between unbounded preceding and 1 preceding
    ) is null
    or min(first_known_at) over (
        partition by series_id order by observation_date desc rows between unbounded preceding and 1 preceding
    ) > first_known_at
),

versions as (
    select observations.*
    from observations
    semi join publishable
        on
            observations.series_id = publishable.series_id
            and observations.observation_date = publishable.observation_date
),

bounds as (
    select
        series_id,
        min(first_known_at) as first_known_at
    from publishable
    group by 1
),

lake_end as (
    select min(trade_date) as last_trade_date
    from trading_days
    where decision_at >= (select max(publishable.first_known_at) as last_first_known_at from publishable)
),

grid as (
    select
        bounds.series_id,
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
        realtime_values('versions', 'grid', ['series_id'], 'observation_date', ['observation_value'])
    }}
),

final as (
    select
        series_id,
        trade_date,
        decision_at,
        observation_date,
        case when observation_age_days <= {{ var('max_observation_age_days', 31) }} then observation_value end
            as observation_value,
        case when observation_age_days <= {{ var('max_observation_age_days', 31) }} then value_known_at end
            as value_known_at,
        observation_age_days
    from realtime
)

select * from final
