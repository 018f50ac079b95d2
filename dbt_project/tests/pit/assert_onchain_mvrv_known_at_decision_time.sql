{#-
    Singular test: on a sample of rows (the 15th of each month), fct_onchain_daily's MVRV is the value Coin
    Metrics had published by the row's decision time, recomputed from stg_coinmetrics__asset_metrics without
    realtime_values: the latest UTC day public by decision_at, in its latest version (null when more than
    var('max_observation_age_days', 31) days old); that day is before D (day D is published on D+1). Returns the
    rows that differ.
-#}
with

mart as (
    select
        symbol,
        asset,
        trade_date,
        decision_at,
        mvrv
    from {{ ref('fct_onchain_daily') }}
    where dayofmonth(trade_date) = 15
),

versions as (
    select
        asset,
        observed_date,
        metric_value,
        version,
        available_at
    from {{ ref('stg_coinmetrics__asset_metrics') }}
    where metric = 'CapMVRVCur'
),

expected as (
    select
        mart.symbol,
        mart.trade_date,
        versions.observed_date,
        versions.metric_value
    from mart
    inner join versions
        on
            mart.asset = versions.asset
            and versions.available_at <= mart.decision_at
            -- an older value is not current (and bounding the join keeps the test fast on years of history)
            and versions.observed_date >= mart.trade_date - {{ var('max_observation_age_days', 31) }}
    qualify row_number() over (
        partition by mart.symbol, mart.trade_date
        order by versions.observed_date desc, versions.available_at desc, versions.version desc
    ) = 1
)

select
    mart.symbol,
    mart.trade_date,
    mart.mvrv,
    expected.metric_value as expected_mvrv,
    expected.observed_date as expected_date
from mart
left join expected on mart.symbol = expected.symbol and mart.trade_date = expected.trade_date
where
    mart.mvrv is distinct from expected.metric_value
    or expected.observed_date >= mart.trade_date
