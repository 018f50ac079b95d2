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
    group by market_code, report_date, report
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
    group by market_code, report_date
),

corrections as (
    {#- Versions published after their report's release. -#}
    select
        v.market_code,
        r.report_seq,
        v.known_from
    from versions as v
    inner join releases as r on r.market_code = v.market_code and r.report_date = v.report_date
    where v.known_from > r.available_at
),

corrected_vintages as (
    {#- Releases whose window holds an earlier report corrected between that report's release and theirs
        (equi-joins on report numbers: the window is the `weeks` - 1 reports before). -#}
    select distinct
        r.market_code,
        r.report_date,
        r.report_seq,
        r.available_at
    from corrections as c
    cross join range(1, {{ weeks }}) as w(reports_later)
    inner join releases as r
        on r.market_code = c.market_code
        and r.report_seq = c.report_seq + w.reports_later
    where c.known_from <= r.available_at
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
        c.market_code,
        c.report_date as vintage_date,
        r.report_date,
        c.available_at as vintage_at
    from corrected_vintages as c
    cross join range(0, {{ weeks }}) as w(reports_earlier)
    inner join releases as r
        on r.market_code = c.market_code
        and r.report_seq = c.report_seq - w.reports_earlier
),

vintage_panel as (
    select
        q.market_code,
        q.vintage_date,
        q.report_date,
        max(v.open_interest) filter (where v.report = 'legacy') as legacy_open_interest,
        max(v.open_interest) filter (where v.report <> 'legacy') as category_open_interest,
        max(v.commercial_net) as commercial_net,
        max(v.noncommercial_net) as noncommercial_net,
        max(v.dealer_net) as dealer_net,
        max(v.asset_manager_net) as asset_manager_net,
        max(v.leveraged_money_net) as leveraged_money_net,
        max(v.producer_merchant_net) as producer_merchant_net,
        max(v.swap_dealer_net) as swap_dealer_net,
        max(v.managed_money_net) as managed_money_net,
        max(v.known_from) as max_known_from
    from vintage_requests as q
    inner join versions as v
        on v.market_code = q.market_code
        and v.report_date = q.report_date
        and {{ known_at('v', 'q.vintage_at') }}
    group by q.market_code, q.vintage_date, q.report_date
),

sides as (
    {#- Smart money and speculators from the market's own report (no fallback to Legacy: one definition per market). -#}
    select
        p.market_code,
        p.vintage_date,
        p.report_date,
        p.max_known_from,
        case m.cot_report when 'legacy' then p.legacy_open_interest else p.category_open_interest end
            as report_open_interest,
        case m.cot_report
            when 'tff' then p.dealer_net
            when 'disaggregated' then p.producer_merchant_net + p.swap_dealer_net
            when 'legacy' then p.commercial_net
        end as smart_money_net,
        case m.cot_report
            when 'tff' then p.leveraged_money_net
            when 'disaggregated' then p.managed_money_net
            when 'legacy' then p.noncommercial_net
        end as speculator_net
    from vintage_panel as p
    inner join markets as m on m.cftc_contract_market_code = p.market_code
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
        {{ rolling_range_index('smart_money_net_share', panel, 'report_date', weeks, min_weeks) }} as smart_money_cot_index52,
        {{ rolling_zscore('speculator_net_share', panel, 'report_date', weeks, min_weeks) }} as speculator_z52,
        {{ rolling_percentile('speculator_net_share', panel, 'report_date', weeks, min_weeks) }} as speculator_pct52,
        {{ rolling_range_index('speculator_net_share', panel, 'report_date', weeks, min_weeks) }} as speculator_cot_index52,
        {{ rolling_zscore('smart_speculator_divergence', panel, 'report_date', weeks, min_weeks) }} as divergence_z52,
        lag(report_date) over (partition by {{ panel }} order by report_date) as previous_report_date,
        lag(smart_money_net_share) over (partition by {{ panel }} order by report_date) as previous_smart_money_net_share,
        lag(speculator_net_share) over (partition by {{ panel }} order by report_date) as previous_speculator_net_share,
        max(max_known_from) over (
            partition by {{ panel }} order by report_date rows between {{ weeks - 1 }} preceding and current row
        ) as max_available_at_used
    from side_shares
),

release_stats as (
    {#- Each release's own row: from its vintage partition when it has one, else from the real-time series. -#}
    select s.*
    from stats as s
    left join corrected_vintages as c on c.market_code = s.market_code and c.report_date = s.report_date
    where (c.report_date is null and s.vintage_date is null) or s.vintage_date = c.report_date
),

own_report as (
    {#- The release's own positions (as released), with each category's share of its report's open interest. -#}
    select
        p.*,
        m.cot_report,
        p.commercial_net / nullif(p.legacy_open_interest, 0) as commercial_net_share,
        p.noncommercial_net / nullif(p.legacy_open_interest, 0) as noncommercial_net_share,
        p.dealer_net / nullif(p.category_open_interest, 0) as dealer_net_share,
        p.asset_manager_net / nullif(p.category_open_interest, 0) as asset_manager_net_share,
        p.leveraged_money_net / nullif(p.category_open_interest, 0) as leveraged_money_net_share,
        p.producer_merchant_net / nullif(p.category_open_interest, 0) as producer_merchant_net_share,
        p.swap_dealer_net / nullif(p.category_open_interest, 0) as swap_dealer_net_share,
        p.managed_money_net / nullif(p.category_open_interest, 0) as managed_money_net_share,
        r.available_at,
        r.available_at_derived
    from vintage_panel as p
    inner join markets as m on m.cftc_contract_market_code = p.market_code
    inner join releases as r on r.market_code = p.market_code and r.report_date = p.report_date
    where p.vintage_date is null
),

final as (
    select
        o.market_code as cftc_contract_market_code,
        o.report_date,
        o.cot_report,
        {{ var('cot_futures_only', true) }} as futures_only,
        coalesce(o.legacy_open_interest, o.category_open_interest) as open_interest,
        o.commercial_net,
        o.noncommercial_net,
        o.dealer_net,
        o.asset_manager_net,
        o.leveraged_money_net,
        o.producer_merchant_net,
        o.swap_dealer_net,
        o.managed_money_net,
        o.commercial_net_share,
        o.noncommercial_net_share,
        o.dealer_net_share,
        o.asset_manager_net_share,
        o.leveraged_money_net_share,
        o.producer_merchant_net_share,
        o.swap_dealer_net_share,
        o.managed_money_net_share,
        s.smart_money_net_share,
        s.smart_money_z52,
        s.smart_money_pct52,
        case when s.report_date - s.previous_report_date <= {{ max_gap_days }}
            then s.smart_money_net_share - s.previous_smart_money_net_share end as smart_money_wow_change,
        s.smart_money_cot_index52,
        s.speculator_net_share,
        s.speculator_z52,
        s.speculator_pct52,
        case when s.report_date - s.previous_report_date <= {{ max_gap_days }}
            then s.speculator_net_share - s.previous_speculator_net_share end as speculator_wow_change,
        s.speculator_cot_index52,
        s.smart_speculator_divergence,
        s.divergence_z52,
        o.available_at,
        o.available_at_derived,
        s.max_available_at_used,
        d.decision_date,
        {{ decision_at('d.decision_date') }} as decision_at
    from own_report as o
    inner join release_stats as s on s.market_code = o.market_code and s.report_date = o.report_date
    cross join lateral (
        {#- The first day whose decision time is at or after the release: the first day a daily row may use it. -#}
        select case
            when o.available_at <= {{ decision_at('cast(o.available_at as date)') }} then cast(o.available_at as date)
            else cast(o.available_at as date) + 1
        end as decision_date
    ) as d
)

select * from final
