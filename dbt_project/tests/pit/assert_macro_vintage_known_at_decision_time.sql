{#-
    Singular test: on a sample of rows (the 15th of each month), fct_macro_daily's DGS10 and broad dollar are
    the values of the vintage current at the row's decision time, recomputed from stg_fred__observations
    without realtime_values: among the vintages public by decision_at (non-null values), the latest observation
    date, in its latest vintage; null when that date is more than var('max_observation_age_days', 31) days old.
    Returns the rows that differ.
-#}
with

mart as (
    select trade_date, decision_at, 'DGS10' as series_id, dgs10 as value
    from {{ ref('fct_macro_daily') }}
    where dayofmonth(trade_date) = 15
    union all
    select trade_date, decision_at, 'DTWEXBGS' as series_id, usd_broad as value
    from {{ ref('fct_macro_daily') }}
    where dayofmonth(trade_date) = 15
),

vintages as (
    select series_id, observation_date, observation_value, realtime_start, version, available_at
    from {{ ref('stg_fred__observations') }}
    where series_id in ('DGS10', 'DTWEXBGS')
      and observation_value is not null
),

expected as (
    select m.series_id, m.trade_date, v.observation_value
    from mart as m
    inner join vintages as v
        on v.series_id = m.series_id
        and v.available_at <= m.decision_at
        -- an older value is not current (and bounding the join keeps the test fast on decades of history)
        and v.observation_date >= m.trade_date - {{ var('max_observation_age_days', 31) }}
    qualify row_number() over (
        partition by m.series_id, m.trade_date
        order by v.observation_date desc, v.available_at desc, v.realtime_start desc, v.version desc
    ) = 1
)

select m.series_id, m.trade_date, m.value, e.observation_value as expected_value
from mart as m
left join expected as e on e.series_id = m.series_id and e.trade_date = m.trade_date
where m.value is distinct from e.observation_value
