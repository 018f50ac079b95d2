{#-
    Singular test: on a sample of rows (the 15th of each month), fct_onchain_daily's MVRV is the value Coin
    Metrics had published by the row's decision time, recomputed from stg_coinmetrics__asset_metrics without
    realtime_values: the latest UTC day public by decision_at, in its latest version (null when more than
    var('max_observation_age_days', 31) days old); that day is before D (day D is published on D+1). Returns the
    rows that differ.
-#}
with

mart as (
    select symbol, asset, trade_date, decision_at, mvrv
    from {{ ref('fct_onchain_daily') }}
    where dayofmonth(trade_date) = 15
),

versions as (
    select asset, observed_date, metric_value, version, available_at
    from {{ ref('stg_coinmetrics__asset_metrics') }}
    where metric = 'CapMVRVCur'
),

expected as (
    select m.symbol, m.trade_date, v.observed_date, v.metric_value
    from mart as m
    inner join versions as v
        on v.asset = m.asset
        and v.available_at <= m.decision_at
        -- an older value is not current (and bounding the join keeps the test fast on years of history)
        and v.observed_date >= m.trade_date - {{ var('max_observation_age_days', 31) }}
    qualify row_number() over (
        partition by m.symbol, m.trade_date order by v.observed_date desc, v.available_at desc, v.version desc
    ) = 1
)

select m.symbol, m.trade_date, m.mvrv, e.metric_value as expected_mvrv, e.observed_date as expected_date
from mart as m
left join expected as e on e.symbol = m.symbol and e.trade_date = m.trade_date
where m.mvrv is distinct from e.metric_value
   or e.observed_date >= m.trade_date
