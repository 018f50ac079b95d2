{#-
    Singular test: on a sample of rows (the 15th of each month), fct_prices_daily's close is what an observer had
    at the row's decision time, recomputed without realtime_values: among all versions published by decision_at,
    the latest observation date, in its latest version, no more than var('max_observation_age_days', 31) days
    old (the mart has no row for a day without a current price). Returns the rows that differ.
-#}
with

mart as (
    select
        symbol,
        trade_date,
        decision_at,
        observed_date,
        close
    from {{ ref('fct_prices_daily') }}
    where dayofmonth(trade_date) = 15
),

versions as (
    select
        symbol,
        observed_date,
        close,
        available_at,
        version
    from {{ ref('int_prices__observations') }}
),

known as (
    select
        mart.symbol,
        mart.trade_date,
        versions.observed_date,
        versions.close,
        versions.available_at,
        versions.version
    from mart
    inner join versions
        on
            mart.symbol = versions.symbol
            and versions.available_at <= mart.decision_at
            -- an older close is not current (and bounding the join keeps the test fast on decades of history)
            and versions.observed_date >= mart.trade_date - {{ var('max_observation_age_days', 31) }}
),

expected as (
    select
        symbol,
        trade_date,
        observed_date,
        close
    from known
    qualify row_number() over (
        partition by symbol, trade_date order by observed_date desc, available_at desc, version desc
    ) = 1
)

select
    mart.symbol,
    mart.trade_date,
    mart.observed_date,
    mart.close,
    expected.observed_date as expected_date,
    expected.close as expected_close
from mart
left join expected on mart.symbol = expected.symbol and mart.trade_date = expected.trade_date
where
    expected.close is null
    or mart.close is distinct from expected.close
    or mart.observed_date is distinct from expected.observed_date
