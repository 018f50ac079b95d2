{#-
    COT positioning as known on each NYSE trading day: for day D, the latest report released by decision_at(D).

    A report dated Tuesday T is released on Friday at 15:30 New York time (19:30 or 20:30 UTC), before the 22:00 UTC
    decision time, so D = T, Wednesday and Thursday still carry the previous week's report and Friday carries T's;
    a holiday-delayed report is used only from its actual release (available_at). Each row carries the weekly row
    as computed at that report's release (a correction published between two releases shows from the next
    release on, as CFTC publishes its corrections with its weekly release).

    Each market's days run from its first release to two weeks after its last release: a single late release never
    leaves a hole, and days_since_report shows how old the report is; capped at var('as_of_date') when the pipeline
    passes it (macros/as_of_cap.sql).
-#}
{%- set trailing_days = 13 %}
with

markets as (
    select * from {{ ref('stg_reference__cot_markets') }}
),

weekly as (
    select * from {{ ref('fct_cot_positioning_weekly') }}
),

releases as (
    {#- One report per release instant (the latest report date if a catch-up released two at once). -#}
    select * from weekly
    qualify row_number() over (
        partition by cftc_contract_market_code, available_at order by report_date desc
    ) = 1
),

market_days as (
    select
        cftc_contract_market_code,
        min(decision_date) as first_date,
        {{ as_of_cap('max(decision_date) + ' ~ trailing_days) }} as last_date
    from weekly
    group by 1
),

grid as (
    select * from {{ trading_day_grid('market_days', 'NYSE') }}
    where trade_date between first_date and last_date
),

latest_report as (
    select
        grid.trade_date,
        grid.decision_at,
        releases.* exclude (releases.decision_date, releases.decision_at)
    from grid
    asof inner join releases
        on
            grid.cftc_contract_market_code = releases.cftc_contract_market_code
            and grid.decision_at >= releases.available_at
),

final as (
    select
        latest_report.cftc_contract_market_code,
        latest_report.trade_date,
        markets.symbol,
        markets.cot_sign,
        latest_report.cot_report,
        latest_report.report_date,
        latest_report.trade_date - latest_report.report_date as days_since_report,
        latest_report.open_interest,
        latest_report.commercial_net,
        latest_report.noncommercial_net,
        latest_report.dealer_net,
        latest_report.asset_manager_net,
        latest_report.leveraged_money_net,
        latest_report.producer_merchant_net,
        latest_report.swap_dealer_net,
        latest_report.managed_money_net,
        latest_report.commercial_net_share,
        latest_report.noncommercial_net_share,
        latest_report.dealer_net_share,
        latest_report.asset_manager_net_share,
        latest_report.leveraged_money_net_share,
        latest_report.producer_merchant_net_share,
        latest_report.swap_dealer_net_share,
        latest_report.managed_money_net_share,
        latest_report.smart_money_net_share,
        latest_report.smart_money_z52,
        latest_report.smart_money_pct52,
        latest_report.smart_money_wow_change,
        latest_report.smart_money_cot_index52,
        latest_report.speculator_net_share,
        markets.cot_sign * latest_report.speculator_net_share as speculator_net_share_signed,
        latest_report.speculator_z52,
        latest_report.speculator_pct52,
        latest_report.speculator_wow_change,
        latest_report.speculator_cot_index52,
        latest_report.smart_speculator_divergence,
        latest_report.divergence_z52,
        latest_report.available_at,
        latest_report.available_at_derived,
        latest_report.decision_at,
        latest_report.max_available_at_used
    from latest_report
    inner join markets on latest_report.cftc_contract_market_code = markets.cftc_contract_market_code
)

select * from final
