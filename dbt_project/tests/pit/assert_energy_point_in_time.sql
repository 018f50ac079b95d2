{#-
    Singular test, recomputed from the staging EIA tables (not from the marts' intermediate models):
    1. every weekly row's crude stocks and change are the versions known at its WPSR release, and its 5-year
       average change is the mean of the five previous ISO years' same-week changes as known then, the same week
       found by looking the ISO (year, week) up in the data (week 52 where a year has no week 53);
    2. on every 3rd trading day, the daily row uses the latest WPSR and WNGSR weeks first published by decision_at,
       and its WTI contract-1 price is the latest RCLC1 price first published by then, at the version known then.
    Returns the offending rows.
-#}
with

weekly as (
    select * from {{ ref('fct_energy_weekly') }}
),

daily as (
    select * from {{ ref('fct_energy_daily') }}
),

stocks as (
    select week_ending, value, version, available_at,
           isoyear(week_ending) as iso_year, weekofyear(week_ending) as iso_week
    from {{ ref('stg_eia__weekly_series') }}
    where series_id = 'WCESTUS1'
),

releases as (
    select week_ending, max(first_at) as released_at
    from (
        select series_id, week_ending, min(available_at) as first_at
        from {{ ref('stg_eia__weekly_series') }}
        where series_id in ('WCESTUS1', 'WPULEUS3', 'WCRFPUS2', 'WCRIMUS2', 'WCREXUS2')
        group by series_id, week_ending
    )
    group by week_ending
),

gas_releases as (
    select week_ending, min(available_at) as released_at
    from {{ ref('stg_eia__weekly_series') }}
    where series_id = 'NW2_EPG0_SWO_R48_BCF'
    group by week_ending
),

targets as (
    {#- (row, k): k = 0 is the row's own week, 1..5 the same week k ISO years earlier. -#}
    select
        w.week_ending as row_week,
        w.petroleum_available_at as released_at,
        k.k,
        coalesce(exact.week_ending, fallback.week_ending) as week_ending
    from weekly as w
    cross join range(0, 6) as k(k)
    left join (select distinct iso_year, iso_week, week_ending from stocks) as exact
        on exact.iso_year = w.iso_year - k.k and exact.iso_week = w.iso_week
    left join (select distinct iso_year, iso_week, week_ending from stocks) as fallback
        on fallback.iso_year = w.iso_year - k.k and fallback.iso_week = 52 and w.iso_week = 53
        and not exists (select 1 from stocks as s where s.iso_year = w.iso_year - k.k and s.iso_week = 53)
    where w.petroleum_available_at is not null
),

changes as (
    select t.row_week, t.k, this_week.value - last_week.value as change, this_week.value as level
    from targets as t
    asof left join stocks as this_week
        on this_week.week_ending = t.week_ending and this_week.available_at <= t.released_at
    asof left join stocks as last_week
        on last_week.week_ending = t.week_ending - 7 and last_week.available_at <= t.released_at
),

expected_weekly as (
    select
        row_week,
        max(level) filter (where k = 0) as crude_stocks,
        max(change) filter (where k = 0) as crude_stocks_change,
        case when count(change) filter (where k > 0) = 5 then avg(change) filter (where k > 0) end as change_5y_avg
    from changes
    group by row_week
),

weekly_failures as (
    select 'weekly crude stocks' as failure, w.week_ending as on_date
    from weekly as w
    left join expected_weekly as e on e.row_week = w.week_ending
    left join releases as r on r.week_ending = w.week_ending
    where w.petroleum_available_at is distinct from r.released_at
       or w.crude_stocks is distinct from e.crude_stocks
       or w.crude_stocks_change is distinct from e.crude_stocks_change
       or (w.crude_stocks_change_5y_avg is null) <> (e.change_5y_avg is null)
       or abs(w.crude_stocks_change_5y_avg - e.change_5y_avg) > 1e-9
),

daily_sample as (
    select * from daily
    where (trade_date - date '2000-01-03') % 3 = 0
),

expected_weeks as (
    select
        d.trade_date,
        d.petroleum_week_ending,
        d.gas_week_ending,
        (select max(r.week_ending) from releases as r where r.released_at <= d.decision_at) as expected_petroleum_week,
        (select max(g.week_ending) from gas_releases as g where g.released_at <= d.decision_at) as expected_gas_week
    from daily_sample as d
),

c1_first as (
    select price_date, min(available_at) as first_at
    from {{ ref('stg_eia__daily_prices') }}
    where series_id = 'RCLC1'
    group by price_date
),

expected_c1 as (
    select
        d.trade_date,
        d.wti_c1,
        d.wti_futures_date,
        (select max(f.price_date) from c1_first as f
            where f.first_at <= d.decision_at and f.price_date > d.trade_date - 30) as expected_date,
        d.decision_at
    from daily_sample as d
),

expected_c1_price as (
    select e.*, p.price as expected_price
    from expected_c1 as e
    left join {{ ref('stg_eia__daily_prices') }} as p
        on p.series_id = 'RCLC1' and p.price_date = e.expected_date and p.available_at <= e.decision_at
    qualify row_number() over (partition by e.trade_date order by p.version desc nulls last) = 1
),

daily_failures as (
    select 'daily weeks' as failure, trade_date as on_date
    from expected_weeks
    where petroleum_week_ending is distinct from expected_petroleum_week
       or gas_week_ending is distinct from expected_gas_week
    union all
    select 'daily wti c1', trade_date
    from expected_c1_price
    where expected_date is not null
      and (wti_futures_date is distinct from expected_date or wti_c1 is distinct from expected_price)
)

select * from weekly_failures
union all
select * from daily_failures
