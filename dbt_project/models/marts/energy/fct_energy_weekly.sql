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
    where series_id in ('{{ (petroleum + [gas]) | join("', '") }}')
),

first_publications as (
    select
        series_id,
        week_ending,
        min(known_from) as published_at,
        arg_min(available_at_derived, version) as published_derived
    from versions
    group by series_id, week_ending
),

releases as (
    {#- One WPSR (petroleum) and one WNGSR (gas) release per week; a release is complete when its last series is out. -#}
    select
        case when series_id = '{{ gas }}' then 'gas' else 'petroleum' end as release,
        week_ending,
        max(published_at) as release_at,
        bool_or(published_derived) as release_derived
    from first_publications
    group by 1, 2
),

seasonal_weeks as (
    {#- years_back 0 is the week itself; 1..years the same ISO week of each previous ISO year (53 -> 52 if absent). -#}
    select
        r.release,
        r.week_ending,
        r.release_at,
        y.years_back,
        isoyear(r.week_ending) - y.years_back as lookup_iso_year,
        case
            when weekofyear(r.week_ending) = 53
                and weekofyear(make_date(cast(isoyear(r.week_ending) - y.years_back as integer), 12, 28)) < 53
                then 52
            else weekofyear(r.week_ending)
        end as lookup_iso_week
    from releases as r
    cross join range(0, {{ years + 1 }}) as y(years_back)
),

lookups as (
    {#- The Friday of each looked-up ISO week (ISO week 1 starts on the Monday on or before 4 January), and the week
        before it (weeks_before 1) for weekly changes. -#}
    select
        s.release,
        s.week_ending,
        s.release_at,
        s.years_back,
        w.weeks_before,
        make_date(cast(s.lookup_iso_year as integer), 1, 4)
            - cast(isodow(make_date(cast(s.lookup_iso_year as integer), 1, 4)) - 1 as integer)
            + cast(7 * (s.lookup_iso_week - 1) + 4 - 7 * w.weeks_before as integer) as value_week
    from seasonal_weeks as s
    cross join range(0, 2) as w(weeks_before)
),

known_values as (
    {#- Each looked-up value at the version known at the release; only what the figures below use. -#}
    select
        l.release,
        l.week_ending,
        l.years_back,
        l.weeks_before,
        v.series_id,
        v.value,
        v.known_from
    from lookups as l
    inner join versions as v
        on v.week_ending = l.value_week
        and {{ known_at('v', 'l.release_at') }}
    where (v.series_id = '{{ gas }}') = (l.release = 'gas')
        and (l.weeks_before = 0 or v.series_id = '{{ crude_stocks }}')
        and (l.years_back = 0 or v.series_id in ('{{ crude_stocks }}', '{{ utilization }}', '{{ gas }}'))
),

per_year as (
    select
        release,
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
    group by release, week_ending, years_back
),

per_release as (
    {#- The week's own figures (years_back 0) and their averages over the previous years, null unless all are known. -#}
    select
        release,
        week_ending,
        max(crude_stocks) filter (where years_back = 0) as crude_stocks,
        max(crude_stocks_change) filter (where years_back = 0) as crude_stocks_change,
        case when count(crude_stocks_change) filter (where years_back > 0) = {{ years }}
            then avg(crude_stocks_change) filter (where years_back > 0) end as crude_stocks_change_5y_avg,
        max(refinery_utilization) filter (where years_back = 0) as refinery_utilization,
        case when count(refinery_utilization) filter (where years_back > 0) = {{ years }}
            then avg(refinery_utilization) filter (where years_back > 0) end as refinery_utilization_5y_avg,
        max(crude_production) filter (where years_back = 0) as crude_production,
        max(crude_imports) filter (where years_back = 0) as crude_imports,
        max(crude_exports) filter (where years_back = 0) as crude_exports,
        max(working_gas) filter (where years_back = 0) as working_gas,
        case when count(working_gas) filter (where years_back > 0) = {{ years }}
            then avg(working_gas) filter (where years_back > 0) end as working_gas_5y_avg,
        max(max_known_from) as max_known_from
    from per_year
    group by release, week_ending
),

petroleum as (
    select
        p.*,
        p.crude_stocks_change - p.crude_stocks_change_5y_avg as crude_stocks_surprise,
        r.release_at,
        r.release_derived
    from per_release as p
    inner join releases as r on r.release = p.release and r.week_ending = p.week_ending
    where p.release = 'petroleum'
),

petroleum_surprises as (
    select
        *,
        {{ rolling_zscore('crude_stocks_surprise', 'release', 'week_ending', surprise_weeks, surprise_min_weeks) }}
            as crude_stocks_surprise_z
    from petroleum
),

gas as (
    select
        p.*,
        r.release_at,
        r.release_derived
    from per_release as p
    inner join releases as r on r.release = p.release and r.week_ending = p.week_ending
    where p.release = 'gas'
),

weeks as (
    select distinct week_ending from releases
),

joined as (
    select
        w.week_ending,
        p.crude_stocks,
        p.crude_stocks_change,
        p.crude_stocks_change_5y_avg,
        p.crude_stocks_surprise,
        p.crude_stocks_surprise_z,
        p.refinery_utilization,
        p.refinery_utilization_5y_avg,
        p.crude_production,
        p.crude_imports,
        p.crude_exports,
        p.release_at as petroleum_available_at,
        p.release_derived as petroleum_available_at_derived,
        g.working_gas,
        g.working_gas_5y_avg,
        g.working_gas - g.working_gas_5y_avg as working_gas_vs_5y_avg,
        100.0 * (g.working_gas - g.working_gas_5y_avg) / nullif(g.working_gas_5y_avg, 0) as working_gas_vs_5y_avg_pct,
        g.release_at as gas_available_at,
        g.release_derived as gas_available_at_derived,
        greatest(p.max_known_from, g.max_known_from) as max_available_at_used,
        greatest(p.release_at, g.release_at) as latest_release_at
    from weeks as w
    left join petroleum_surprises as p on p.week_ending = w.week_ending
    left join gas as g on g.week_ending = w.week_ending
),

final as (
    select
        j.week_ending,
        isoyear(j.week_ending) as iso_year,
        weekofyear(j.week_ending) as iso_week,
        j.* exclude (week_ending, latest_release_at),
        d.decision_date,
        {{ decision_at('d.decision_date') }} as decision_at
    from joined as j
    cross join lateral (
        {#- The first day whose decision time is at or after both releases of the week. -#}
        select case
            when j.latest_release_at <= {{ decision_at('cast(j.latest_release_at as date)') }}
                then cast(j.latest_release_at as date)
            else cast(j.latest_release_at as date) + 1
        end as decision_date
    ) as d
)

select * from final
