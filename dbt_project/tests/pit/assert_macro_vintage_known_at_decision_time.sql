{#-
    Singular test: on a sample of rows (the 15th of each month), fct_macro_daily's DGS10 and broad dollar are
    the values of the vintage current at the row's decision time, recomputed from stg_fred__observations
    without realtime_values: among the vintages public by decision_at (non-null values), the latest observation
    date, in its latest vintage; null when that date is more than var('max_observation_age_days', 31) days old.
    Returns the rows that differ.
-#}
with

macro_daily as (
    select * from {{ ref('fct_macro_daily') }}
    where dayofmonth(trade_date) = 15
),

mart as (
    select
        trade_date,
        decision_at,
        'DGS10' as series_id,
        dgs10 as mart_value
    from macro_daily
    union all
    select
        trade_date,
        decision_at,
        'DTWEXBGS' as series_id,
        usd_broad as mart_value
    from macro_daily
),

vintages as (
    select
        series_id,
        observation_date,
        observation_value,
        realtime_start,
        version,
        available_at
    from {{ ref('stg_fred__observations') }}
    where
        series_id in ('DGS10', 'DTWEXBGS')
        and observation_value is not null
),

expected as (
    select
        mart.series_id,
        mart.trade_date,
        vintages.observation_value
    from mart
    inner join vintages
        on
            mart.series_id = vintages.series_id
            and vintages.available_at <= mart.decision_at
            -- an older value is not current (and bounding the join keeps the test fast on decades of history)
            and vintages.observation_date >= mart.trade_date - {{ var('max_observation_age_days', 31) }}
    qualify row_number() over (
        partition by mart.series_id, mart.trade_date
        order by
            vintages.observation_date desc, vintages.available_at desc, vintages.realtime_start desc,
            vintages.version desc
    ) = 1
)

select
    mart.series_id,
    mart.trade_date,
    mart.mart_value,
    expected.observation_value as expected_value
from mart
left join expected on mart.series_id = expected.series_id and mart.trade_date = expected.trade_date
where mart.mart_value is distinct from expected.observation_value
