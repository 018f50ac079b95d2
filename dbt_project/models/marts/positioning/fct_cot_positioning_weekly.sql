{#-
    COT positioning per market and report, every figure as it stood when that report was released.

    The release of report R (`available_at`) is its first publication. Every number of R's row is computed from the
    versions known at that instant: R's own positions and, for the 52-week statistics and the week-over-week change,
    the positions of the previous reports as known then (a CFTC correction published before R's release is used,
    one published after it never is). A row therefore depends only on silver rows with available_at <= its
    available_at: truncating the lake after any time leaves every row released by then unchanged.

    The statistics run the rolling macros over the last `weeks` reports (rows). Most releases see every earlier
    report exactly as it was first released, so their window is a window of the real-time series (each report at
    its own release). Only a release with a correction of an earlier report of its window published in between
    needs its own vintage of the window: those few get a partition of their own (vintage_date = R), the others
    share the real-time partition (vintage_date null), and one set of macro calls computes both.
-#}
{%- set weeks = var('cot_window_weeks', 52) %}
{%- set min_weeks = var('cot_min_weeks', 40) %}
{%- set max_gap_days = 10 %}
{%- set panel = 'market_code, vintage_date' %}
with

markets as (
    select * from {{ ref('stg_reference__cot_markets') }}
),

versions as (
    select * from {{ ref('int_cot__net_positions_versioned') }}
),

first_publications as (
    select
        market_code,
        report_date,
        report,
        min(known_from) as published_at,
        arg_min(available_at_derived, version) as published_derived
    from versions
    group by 1, 2, 3
),

releases as (
    {#- Legacy and the category report of a week come out together; the later of the two is the release. -#}
    select
        market_code,
        report_date,
        max(published_at) as available_at,
        bool_or(published_derived) as available_at_derived,
        row_number() over (partition by market_code order by report_date) as report_seq
    from first_publications
    group by 1, 2
),

corrections as (
    {#- Versions published after their report's release. -#}
    select
        versions.market_code,
        releases.report_seq,
        versions.known_from
    from versions
    inner join releases
        on versions.market_code = releases.market_code and versions.report_date = releases.report_date
    where versions.known_from > releases.available_at
),

corrected_vintages as (
    {#- Releases whose window holds an earlier report corrected between that report's release and theirs
        (equi-joins on report numbers: the window is the `weeks` - 1 reports before). -#}
    select distinct
        releases.market_code,
        releases.report_date,
        releases.report_seq,
        releases.available_at
    from corrections
    cross join range(1, {{ weeks }}) as later_reports (reports_later)
    inner join releases
        on
            corrections.market_code = releases.market_code
            and releases.report_seq = corrections.report_seq + later_reports.reports_later
    where corrections.known_from <= releases.available_at
),

vintage_requests as (
    {#- (vintage, report) pairs to look up: each report at its own release (the real-time series), and the whole
        window of each corrected vintage at that vintage's release. -#}
    select
        market_code,
        cast(null as date) as vintage_date,
        report_date,
        available_at as vintage_at
    from releases
    union all
    select
        corrected_vintages.market_code,
        corrected_vintages.report_date as vintage_date,
        releases.report_date,
        corrected_vintages.available_at as vintage_at
    from corrected_vintages
    cross join range(0, {{ weeks }}) as earlier_reports (reports_earlier)
    inner join releases
        on
            corrected_vintages.market_code = releases.market_code
            and releases.report_seq = corrected_vintages.report_seq - earlier_reports.reports_earlier
),

vintage_panel as (
    select
        vintage_requests.market_code,
        vintage_requests.vintage_date,
        vintage_requests.report_date,
        max(versions.open_interest) filter (where versions.report = 'legacy') as legacy_open_interest,
        max(versions.open_interest) filter (where versions.report <> 'legacy') as category_open_interest,
        max(versions.commercial_net) as commercial_net,
        max(versions.noncommercial_net) as noncommercial_net,
        max(versions.dealer_net) as dealer_net,
        max(versions.asset_manager_net) as asset_manager_net,
        max(versions.leveraged_money_net) as leveraged_money_net,
        max(versions.producer_merchant_net) as producer_merchant_net,
        max(versions.swap_dealer_net) as swap_dealer_net,
        max(versions.managed_money_net) as managed_money_net,
        max(versions.known_from) as max_known_from
    from vintage_requests
    inner join versions
        on
            vintage_requests.market_code = versions.market_code
            and vintage_requests.report_date = versions.report_date
            and {{ known_at('versions', 'vintage_requests.vintage_at') }}
    group by 1, 2, 3
),

sides as (
    {#- Smart money and speculators from the market's own report (no fallback to Legacy: one definition per market). -#}
    select
        vintage_panel.market_code,
        vintage_panel.vintage_date,
        vintage_panel.report_date,
        vintage_panel.max_known_from,
        case markets.cot_report
            when 'legacy' then vintage_panel.legacy_open_interest
            else vintage_panel.category_open_interest
        end as report_open_interest,
        case markets.cot_report
            when 'tff' then vintage_panel.dealer_net
            when 'disaggregated' then vintage_panel.producer_merchant_net + vintage_panel.swap_dealer_net
            when 'legacy' then vintage_panel.commercial_net
        end as smart_money_net,
        case markets.cot_report
            when 'tff' then vintage_panel.leveraged_money_net
            when 'disaggregated' then vintage_panel.managed_money_net
            when 'legacy' then vintage_panel.noncommercial_net
        end as speculator_net
    from vintage_panel
    inner join markets on vintage_panel.market_code = markets.cftc_contract_market_code
),

side_shares as (
    select
        *,
        smart_money_net / nullif(report_open_interest, 0) as smart_money_net_share,
        speculator_net / nullif(report_open_interest, 0) as speculator_net_share,
        (smart_money_net - speculator_net) / nullif(report_open_interest, 0) as smart_speculator_divergence
    from sides
),

stats as (
    {#- The rolling macros over each partition: the real-time series, and each corrected vintage. -#}
    select
        market_code,
        vintage_date,
        report_date,
        smart_money_net_share,
        speculator_net_share,
        smart_speculator_divergence,
        {{ rolling_zscore('smart_money_net_share', panel, 'report_date', weeks, min_weeks) }} as smart_money_z52,
        {{ rolling_percentile('smart_money_net_share', panel, 'report_date', weeks, min_weeks) }} as smart_money_pct52,
        {{ rolling_range_index('smart_money_net_share', panel, 'report_date', weeks, min_weeks) }}
            as smart_money_cot_index52,
        {{ rolling_zscore('speculator_net_share', panel, 'report_date', weeks, min_weeks) }} as speculator_z52,
        {{ rolling_percentile('speculator_net_share', panel, 'report_date', weeks, min_weeks) }} as speculator_pct52,
        {{ rolling_range_index('speculator_net_share', panel, 'report_date', weeks, min_weeks) }}
            as speculator_cot_index52,
        {{ rolling_zscore('smart_speculator_divergence', panel, 'report_date', weeks, min_weeks) }} as divergence_z52,
        lag(report_date) over (partition by {{ panel }} order by report_date) as previous_report_date,
        lag(smart_money_net_share)
            over (partition by {{ panel }} order by report_date)
            as previous_smart_money_net_share,
        lag(speculator_net_share) over (partition by {{ panel }} order by report_date) as previous_speculator_net_share,
        max(max_known_from) over (
            partition by {{ panel }} order by report_date rows between {{ weeks - 1 }} preceding and current row
        ) as max_available_at_used
    from side_shares
),

release_stats as (
    {#- Each release's own row: from its vintage partition when it has one, else from the real-time series. -#}
    select stats.*
    from stats
    left join corrected_vintages
        on stats.market_code = corrected_vintages.market_code and stats.report_date = corrected_vintages.report_date
    where
        (corrected_vintages.report_date is null and stats.vintage_date is null)
        or stats.vintage_date = corrected_vintages.report_date
),

own_report as (
    {#- The release's own positions (as released), with each category's share of its report's open interest. -#}
    select
        vintage_panel.*,
        markets.cot_report,
        vintage_panel.commercial_net / nullif(vintage_panel.legacy_open_interest, 0) as commercial_net_share,
        vintage_panel.noncommercial_net / nullif(vintage_panel.legacy_open_interest, 0) as noncommercial_net_share,
        vintage_panel.dealer_net / nullif(vintage_panel.category_open_interest, 0) as dealer_net_share,
        vintage_panel.asset_manager_net / nullif(vintage_panel.category_open_interest, 0) as asset_manager_net_share,
        vintage_panel.leveraged_money_net
        / nullif(vintage_panel.category_open_interest, 0) as leveraged_money_net_share,
        vintage_panel.producer_merchant_net
        / nullif(vintage_panel.category_open_interest, 0) as producer_merchant_net_share,
        vintage_panel.swap_dealer_net / nullif(vintage_panel.category_open_interest, 0) as swap_dealer_net_share,
        vintage_panel.managed_money_net / nullif(vintage_panel.category_open_interest, 0) as managed_money_net_share,
        releases.available_at,
        releases.available_at_derived,
        {#- The first day whose decision time is at or after the release: the first day a daily row may use it. -#}
        case
            when releases.available_at <= {{ decision_at('cast(releases.available_at as date)') }}
                then cast(releases.available_at as date)
            else cast(releases.available_at as date) + 1
        end as decision_date
    from vintage_panel
    inner join markets on vintage_panel.market_code = markets.cftc_contract_market_code
    inner join releases
        on vintage_panel.market_code = releases.market_code and vintage_panel.report_date = releases.report_date
    where vintage_panel.vintage_date is null
),

final as (
    select
        own_report.market_code as cftc_contract_market_code,
        own_report.report_date,
        own_report.cot_report,
        {{ var('cot_futures_only', true) }} as futures_only,
        coalesce(own_report.legacy_open_interest, own_report.category_open_interest) as open_interest,
        own_report.commercial_net,
        own_report.noncommercial_net,
        own_report.dealer_net,
        own_report.asset_manager_net,
        own_report.leveraged_money_net,
        own_report.producer_merchant_net,
        own_report.swap_dealer_net,
        own_report.managed_money_net,
        own_report.commercial_net_share,
        own_report.noncommercial_net_share,
        own_report.dealer_net_share,
        own_report.asset_manager_net_share,
        own_report.leveraged_money_net_share,
        own_report.producer_merchant_net_share,
        own_report.swap_dealer_net_share,
        own_report.managed_money_net_share,
        release_stats.smart_money_net_share,
        release_stats.smart_money_z52,
        release_stats.smart_money_pct52,
        case
            when release_stats.report_date - release_stats.previous_report_date <= {{ max_gap_days }}
                then release_stats.smart_money_net_share - release_stats.previous_smart_money_net_share
        end as smart_money_wow_change,
        release_stats.smart_money_cot_index52,
        release_stats.speculator_net_share,
        release_stats.speculator_z52,
        release_stats.speculator_pct52,
        case
            when release_stats.report_date - release_stats.previous_report_date <= {{ max_gap_days }}
                then release_stats.speculator_net_share - release_stats.previous_speculator_net_share
        end as speculator_wow_change,
        release_stats.speculator_cot_index52,
        release_stats.smart_speculator_divergence,
        release_stats.divergence_z52,
        own_report.available_at,
        own_report.available_at_derived,
        release_stats.max_available_at_used,
        own_report.decision_date,
        {{ decision_at('own_report.decision_date') }} as decision_at
    from own_report
    inner join release_stats
        on own_report.market_code = release_stats.market_code and own_report.report_date = release_stats.report_date
)

select * from final
