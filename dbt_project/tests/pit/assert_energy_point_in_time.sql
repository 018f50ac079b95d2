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

weekly_series as (
    select * from {{ ref('stg_eia__weekly_series') }}
),

daily_prices as (
    select * from {{ ref('stg_eia__daily_prices') }}
),

stocks as (
    select
        week_ending,
        value,
        version,
        available_at,
        isoyear(week_ending) as iso_year,
        weekofyear(week_ending) as iso_week
    from weekly_series
    where series_id = 'WCESTUS1'
),

petroleum_first as (
    select
        series_id,
        week_ending,
        min(available_at) as first_at
    from weekly_series
    where series_id in ('WCESTUS1', 'WPULEUS3', 'WCRFPUS2', 'WCRIMUS2', 'WCREXUS2')
    group by 1, 2
),

releases as (
    select
        week_ending,
        max(first_at) as released_at
    from petroleum_first
    group by 1
),

gas_releases as (
    select
        week_ending,
        min(available_at) as released_at
    from weekly_series
    where series_id = 'NW2_EPG0_SWO_R48_BCF'
    group by 1
),

stock_weeks as (
    select distinct
        iso_year,
        iso_week,
        week_ending
    from stocks
),

targets as (
    {#- (row, years_back): 0 is the row's own week, 1..5 the same week that many ISO years earlier. -#}
    select
        weekly.week_ending as row_week,
        weekly.petroleum_available_at as released_at,
        year_offsets.years_back,
        coalesce(exact.week_ending, fallback.week_ending) as week_ending
    from weekly
    cross join range(0, 6) as year_offsets (years_back)
    left join stock_weeks as exact
        on weekly.iso_year - year_offsets.years_back = exact.iso_year and weekly.iso_week = exact.iso_week
    left join stock_weeks as fallback
        on
            weekly.iso_year - year_offsets.years_back = fallback.iso_year
            and fallback.iso_week = 52
            and weekly.iso_week = 53
            and not exists (
                select stocks.iso_week from stocks
                where stocks.iso_year = weekly.iso_year - year_offsets.years_back and stocks.iso_week = 53
            )
    where weekly.petroleum_available_at is not null
),

changes as (
    select
        targets.row_week,
        targets.years_back,
        this_week.value - last_week.value as stocks_change,
        this_week.value as stocks_level
    from targets
    asof left join stocks as this_week
        on targets.week_ending = this_week.week_ending and targets.released_at >= this_week.available_at
    asof left join stocks as last_week
        on targets.week_ending - 7 = last_week.week_ending and targets.released_at >= last_week.available_at
),

expected_weekly as (
    select
        row_week,
        max(stocks_level) filter (where years_back = 0) as crude_stocks,
        max(stocks_change) filter (where years_back = 0) as crude_stocks_change,
        case
            when count(stocks_change) filter (where years_back > 0) = 5
                then avg(stocks_change) filter (where years_back > 0)
        end as change_5y_avg
    from changes
    group by 1
),

weekly_failures as (
    select
        'weekly crude stocks' as failure,
        weekly.week_ending as on_date
    from weekly
    left join expected_weekly on weekly.week_ending = expected_weekly.row_week
    left join releases on weekly.week_ending = releases.week_ending
    where
        weekly.petroleum_available_at is distinct from releases.released_at
        or weekly.crude_stocks is distinct from expected_weekly.crude_stocks
        or weekly.crude_stocks_change is distinct from expected_weekly.crude_stocks_change
        or (weekly.crude_stocks_change_5y_avg is null) <> (expected_weekly.change_5y_avg is null)
        or abs(weekly.crude_stocks_change_5y_avg - expected_weekly.change_5y_avg) > 1e-9
),

daily_sample as (
    select * from daily
    where (trade_date - date '2000-01-03') % 3 = 0
),

expected_weeks as (
    select
        daily_sample.trade_date,
        daily_sample.petroleum_week_ending,
        daily_sample.gas_week_ending,
        (
            select max(releases.week_ending) as week_ending from releases
            where releases.released_at <= daily_sample.decision_at
        ) as expected_petroleum_week,
        (
            select max(gas_releases.week_ending) as week_ending from gas_releases
            where gas_releases.released_at <= daily_sample.decision_at
        ) as expected_gas_week
    from daily_sample
),

c1_first as (
    select
        price_date,
        min(available_at) as first_at
    from daily_prices
    where series_id = 'RCLC1'
    group by 1
),

expected_c1 as (
    select
        daily_sample.trade_date,
        daily_sample.wti_c1,
        daily_sample.wti_futures_date,
        (
            select max(c1_first.price_date) as price_date from c1_first
            where c1_first.first_at <= daily_sample.decision_at and c1_first.price_date > daily_sample.trade_date - 30
        ) as expected_date,
        daily_sample.decision_at
    from daily_sample
),

expected_c1_price as (
    select
        expected_c1.*,
        daily_prices.price as expected_price
    from expected_c1
    left join daily_prices
        on
            daily_prices.series_id = 'RCLC1'
            and expected_c1.expected_date = daily_prices.price_date
            and expected_c1.decision_at >= daily_prices.available_at
    qualify row_number() over (partition by expected_c1.trade_date order by daily_prices.version desc nulls last) = 1
),

daily_failures as (
    select
        'daily weeks' as failure,
        trade_date as on_date
    from expected_weeks
    where
        petroleum_week_ending is distinct from expected_petroleum_week
        or gas_week_ending is distinct from expected_gas_week
    union all
    select
        'daily wti c1' as failure,
        trade_date as on_date
    from expected_c1_price
    where
        expected_date is not null
        and (wti_futures_date is distinct from expected_date or wti_c1 is distinct from expected_price)
)

select * from weekly_failures
union all
select * from daily_failures
