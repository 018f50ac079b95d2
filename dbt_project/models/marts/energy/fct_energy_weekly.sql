{#-
    EIA weekly petroleum (WPSR) and gas storage (WNGSR) figures per report week (week ending Friday), each as it
    stood at its release.

    Every figure of the petroleum part is computed from the versions known at that week's WPSR release
    (petroleum_available_at), and every figure of the gas part from those known at its WNGSR release
    (gas_available_at): this week's level, last week's (for the change), and the same week of each of the
    `years` previous years (for the seasonal averages), so a revision EIA published before the release is used and
    one published later never is. The current year never enters its own seasonal average.

    Week of year: the ISO week of the week-ending Friday (isoyear / weekofyear; the Friday shares its ISO week with
    the Thursday that decides the ISO year). "The same week" of an earlier year is that ISO week of the earlier ISO
    year; when this week is ISO week 53 and the earlier year has only 52 weeks, its week 52 stands in (the earlier
    year's own week 53, when it has one, is used only by week 53).

    The surprise z-score compares this week's surprise with the trailing `surprise_weeks` weekly surprises, each as
    published at its own release (the real-time series of surprises).
-#}
{%- set years = var('energy_seasonal_years', 5) %}
{%- set surprise_weeks = var('energy_surprise_window_weeks', 156) %}
{%- set surprise_min_weeks = var('energy_surprise_min_weeks', 52) %}
{%- set gas = 'NW2_EPG0_SWO_R48_BCF' %}
{%- set crude_stocks = 'WCESTUS1' %}
{%- set utilization = 'WPULEUS3' %}
{%- set petroleum = [crude_stocks, utilization, 'WCRFPUS2', 'WCRIMUS2', 'WCREXUS2'] %}
with

versions as (
    select * from {{ ref('int_energy__weekly_series_versioned') }}
    where series_id in ('{{ (petroleum + [gas]) | join("', '") }}')  -- noqa: LT05
),

first_publications as (
    select
        series_id,
        week_ending,
        min(known_from) as published_at,
        arg_min(available_at_derived, version) as published_derived
    from versions
    group by 1, 2
),

releases as (
    {#- One WPSR (petroleum) and one WNGSR (gas) release per week, complete when its last series is out. -#}
    select
        case when series_id = '{{ gas }}' then 'gas' else 'petroleum' end as release_kind,
        week_ending,
        max(published_at) as release_at,
        bool_or(published_derived) as release_derived
    from first_publications
    group by 1, 2
),

seasonal_weeks as (
    {#- years_back 0 is the week itself; 1..years the same ISO week of each previous ISO year (53 -> 52 if absent). -#}
    select
        releases.release_kind,
        releases.week_ending,
        releases.release_at,
        year_offsets.years_back,
        isoyear(releases.week_ending) - year_offsets.years_back as lookup_iso_year,
        case
            when
                weekofyear(releases.week_ending) = 53
                and weekofyear(
                    make_date(cast(isoyear(releases.week_ending) - year_offsets.years_back as integer), 12, 28)
                ) < 53
                then 52
            else weekofyear(releases.week_ending)
        end as lookup_iso_week
    from releases
    cross join range(0, {{ years + 1 }}) as year_offsets (years_back)
),

lookups as (
    {#- The Friday of each looked-up ISO week (ISO week 1 starts on the Monday on or before 4 January), and the week
        before it (weeks_before 1) for weekly changes. -#}
    select
        seasonal_weeks.release_kind,
        seasonal_weeks.week_ending,
        seasonal_weeks.release_at,
        seasonal_weeks.years_back,
        week_offsets.weeks_before,
        make_date(cast(seasonal_weeks.lookup_iso_year as integer), 1, 4)
        - cast(isodow(make_date(cast(seasonal_weeks.lookup_iso_year as integer), 1, 4)) - 1 as integer)
        + cast(7 * (seasonal_weeks.lookup_iso_week - 1) + 4 - 7 * week_offsets.weeks_before as integer) as value_week
    from seasonal_weeks
    cross join range(0, 2) as week_offsets (weeks_before)
),

known_values as (
    {#- Each looked-up value at the version known at the release; only what the figures below use. -#}
    select
        lookups.release_kind,
        lookups.week_ending,
        lookups.years_back,
        lookups.weeks_before,
        versions.series_id,
        versions.value,
        versions.known_from
    from lookups
    inner join versions
        on
            lookups.value_week = versions.week_ending
            and {{ known_at('versions', 'lookups.release_at') }}
    where
        (versions.series_id = '{{ gas }}') = (lookups.release_kind = 'gas')
        and (lookups.weeks_before = 0 or versions.series_id = '{{ crude_stocks }}')
        and (lookups.years_back = 0 or versions.series_id in ('{{ crude_stocks }}', '{{ utilization }}', '{{ gas }}'))
),

per_year as (
    select
        release_kind,
        week_ending,
        years_back,
        max(value) filter (where series_id = '{{ crude_stocks }}' and weeks_before = 0) as crude_stocks,
        max(value) filter (where series_id = '{{ crude_stocks }}' and weeks_before = 0)
        - max(value) filter (where series_id = '{{ crude_stocks }}' and weeks_before = 1) as crude_stocks_change,
        max(value) filter (where series_id = '{{ utilization }}') as refinery_utilization,
        max(value) filter (where series_id = 'WCRFPUS2') as crude_production,
        max(value) filter (where series_id = 'WCRIMUS2') as crude_imports,
        max(value) filter (where series_id = 'WCREXUS2') as crude_exports,
        max(value) filter (where series_id = '{{ gas }}') as working_gas,
        max(known_from) as max_known_from
    from known_values
    group by 1, 2, 3
),

per_release as (
    {#- The week's own figures (years_back 0) and their averages over the previous years, null unless all are known. -#}
    select
        release_kind,
        week_ending,
        max(crude_stocks) filter (where years_back = 0) as crude_stocks,
        max(crude_stocks_change) filter (where years_back = 0) as crude_stocks_change,
        case
            when count(crude_stocks_change) filter (where years_back > 0) = {{ years }}
                then avg(crude_stocks_change) filter (where years_back > 0)
        end as crude_stocks_change_5y_avg,
        max(refinery_utilization) filter (where years_back = 0) as refinery_utilization,
        case
            when count(refinery_utilization) filter (where years_back > 0) = {{ years }}
                then avg(refinery_utilization) filter (where years_back > 0)
        end as refinery_utilization_5y_avg,
        max(crude_production) filter (where years_back = 0) as crude_production,
        max(crude_imports) filter (where years_back = 0) as crude_imports,
        max(crude_exports) filter (where years_back = 0) as crude_exports,
        max(working_gas) filter (where years_back = 0) as working_gas,
        case
            when count(working_gas) filter (where years_back > 0) = {{ years }}
                then avg(working_gas) filter (where years_back > 0)
        end as working_gas_5y_avg,
        max(max_known_from) as max_known_from
    from per_year
    group by 1, 2
),

petroleum as (
    select
        per_release.*,
        per_release.crude_stocks_change - per_release.crude_stocks_change_5y_avg as crude_stocks_surprise,
        releases.release_at,
        releases.release_derived
    from per_release
    inner join releases
        on per_release.release_kind = releases.release_kind and per_release.week_ending = releases.week_ending
    where per_release.release_kind = 'petroleum'
),

petroleum_surprises as (
    select
        *,
        {{ rolling_zscore('crude_stocks_surprise', 'release_kind', 'week_ending', surprise_weeks, surprise_min_weeks) }}
            as crude_stocks_surprise_z
    from petroleum
),

gas as (
    select
        per_release.*,
        releases.release_at,
        releases.release_derived
    from per_release
    inner join releases
        on per_release.release_kind = releases.release_kind and per_release.week_ending = releases.week_ending
    where per_release.release_kind = 'gas'
),

weeks as (
    select distinct week_ending from releases
),

joined as (
    select
        weeks.week_ending,
        petroleum_surprises.crude_stocks,
        petroleum_surprises.crude_stocks_change,
        petroleum_surprises.crude_stocks_change_5y_avg,
        petroleum_surprises.crude_stocks_surprise,
        petroleum_surprises.crude_stocks_surprise_z,
        petroleum_surprises.refinery_utilization,
        petroleum_surprises.refinery_utilization_5y_avg,
        petroleum_surprises.crude_production,
        petroleum_surprises.crude_imports,
        petroleum_surprises.crude_exports,
        petroleum_surprises.release_at as petroleum_available_at,
        petroleum_surprises.release_derived as petroleum_available_at_derived,
        gas.working_gas,
        gas.working_gas_5y_avg,
        gas.working_gas - gas.working_gas_5y_avg as working_gas_vs_5y_avg,
        100.0 * (gas.working_gas - gas.working_gas_5y_avg)
        / nullif(gas.working_gas_5y_avg, 0) as working_gas_vs_5y_avg_pct,
        gas.release_at as gas_available_at,
        gas.release_derived as gas_available_at_derived,
        greatest(petroleum_surprises.max_known_from, gas.max_known_from) as max_available_at_used,
        greatest(petroleum_surprises.release_at, gas.release_at) as latest_release_at
    from weeks
    left join petroleum_surprises on weeks.week_ending = petroleum_surprises.week_ending
    left join gas on weeks.week_ending = gas.week_ending
),

with_decision_dates as (
    {#- The first day whose decision time is at or after both releases of the week. -#}
    select
        *,
        case
            when latest_release_at <= {{ decision_at('cast(latest_release_at as date)') }}
                then cast(latest_release_at as date)
            else cast(latest_release_at as date) + 1
        end as decision_date
    from joined
),

final as (
    select
        week_ending,
        isoyear(week_ending) as iso_year,
        weekofyear(week_ending) as iso_week,
        * exclude (week_ending, latest_release_at, decision_date),
        decision_date,
        {{ decision_at('decision_date') }} as decision_at
    from with_decision_dates
)

select * from final
