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
    group by cftc_contract_market_code
),

grid as (
    select * from {{ trading_day_grid('market_days', 'NYSE') }}
    where trade_date between first_date and last_date
),

latest_report as (
    select
        g.trade_date,
        g.decision_at,
        r.* exclude (decision_date, decision_at)
    from grid as g
    asof inner join releases as r
        on r.cftc_contract_market_code = g.cftc_contract_market_code
        and r.available_at <= g.decision_at
),

final as (
    select
        l.cftc_contract_market_code,
        l.trade_date,
        m.symbol,
        m.cot_sign,
        l.cot_report,
        l.report_date,
        l.trade_date - l.report_date as days_since_report,
        l.open_interest,
        l.commercial_net,
        l.noncommercial_net,
        l.dealer_net,
        l.asset_manager_net,
        l.leveraged_money_net,
        l.producer_merchant_net,
        l.swap_dealer_net,
        l.managed_money_net,
        l.commercial_net_share,
        l.noncommercial_net_share,
        l.dealer_net_share,
        l.asset_manager_net_share,
        l.leveraged_money_net_share,
        l.producer_merchant_net_share,
        l.swap_dealer_net_share,
        l.managed_money_net_share,
        l.smart_money_net_share,
        l.smart_money_z52,
        l.smart_money_pct52,
        l.smart_money_wow_change,
        l.smart_money_cot_index52,
        l.speculator_net_share,
        m.cot_sign * l.speculator_net_share as speculator_net_share_signed,
        l.speculator_z52,
        l.speculator_pct52,
        l.speculator_wow_change,
        l.speculator_cot_index52,
        l.smart_speculator_divergence,
        l.divergence_z52,
        l.available_at,
        l.available_at_derived,
        l.decision_at,
        l.max_available_at_used
    from latest_report as l
    inner join markets as m on m.cftc_contract_market_code = l.cftc_contract_market_code
)

select * from final
