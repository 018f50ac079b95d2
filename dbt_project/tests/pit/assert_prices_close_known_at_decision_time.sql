{#-
    Singular test: on a sample of rows (the 15th of each month), fct_prices_daily's close is what an observer had
    at the row's decision time, recomputed without realtime_values: among all versions published by decision_at,
    the latest observation date, in its latest version, no more than var('max_observation_age_days', 31) days
    old (the mart has no row for a day without a current price). Returns the rows that differ.
-#}
with

mart as (
    select symbol, trade_date, decision_at, observed_date, close
    from {{ ref('fct_prices_daily') }}
    where dayofmonth(trade_date) = 15
),

versions as (
    select symbol, observed_date, close, available_at, version
    from {{ ref('int_prices__observations') }}
),

known as (
    select m.symbol, m.trade_date, v.observed_date, v.close, v.available_at, v.version
    from mart as m
    inner join versions as v
        on v.symbol = m.symbol
        and v.available_at <= m.decision_at
        -- an older close is not current (and bounding the join keeps the test fast on decades of history)
        and v.observed_date >= m.trade_date - {{ var('max_observation_age_days', 31) }}
),

expected as (
    select symbol, trade_date, observed_date, close
    from known
    qualify row_number() over (
        partition by symbol, trade_date order by observed_date desc, available_at desc, version desc
    ) = 1
)

select m.symbol, m.trade_date, m.observed_date, m.close, e.observed_date as expected_date, e.close as expected_close
from mart as m
left join expected as e on e.symbol = m.symbol and e.trade_date = m.trade_date
where e.close is null
   or m.close is distinct from e.close
   or m.observed_date is distinct from e.observed_date
