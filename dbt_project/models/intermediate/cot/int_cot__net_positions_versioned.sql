{#-
    Net positions (long - short, in contracts) of every COT trader category, one row per version of each report
    of each followed market, with the interval in which that version was the latest published.

    Legacy is kept for every market of stg_reference__cot_markets; TFF and Disaggregated only for the markets whose
    report they are (cot_report), so a market's category columns come from one report. var('cot_futures_only')
    picks the futures-only (default) or the futures-and-options combined report.
-#}
{%- set futures_only = var('cot_futures_only', true) %}
with

markets as (
    select * from {{ ref('stg_reference__cot_markets') }}
),

legacy as (
    select * from {{ ref('stg_cot__legacy_positions') }}
    where futures_only = {{ futures_only }}
),

tff as (
    select * from {{ ref('stg_cot__tff_positions') }}
    where futures_only = {{ futures_only }}
),

disaggregated as (
    select * from {{ ref('stg_cot__disaggregated_positions') }}
    where futures_only = {{ futures_only }}
),

legacy_nets as (
    select
        'legacy' as report,
        legacy.market_code,
        legacy.report_date,
        legacy.version,
        legacy.available_at,
        legacy.available_at_derived,
        legacy.open_interest,
        legacy.commercial_long - legacy.commercial_short as commercial_net,
        legacy.noncommercial_long - legacy.noncommercial_short as noncommercial_net
    from legacy
    inner join markets on legacy.market_code = markets.cftc_contract_market_code
),

tff_nets as (
    select
        'tff' as report,
        tff.market_code,
        tff.report_date,
        tff.version,
        tff.available_at,
        tff.available_at_derived,
        tff.open_interest,
        tff.dealer_long - tff.dealer_short as dealer_net,
        tff.asset_manager_long - tff.asset_manager_short as asset_manager_net,
        tff.leveraged_funds_long - tff.leveraged_funds_short as leveraged_money_net
    from tff
    inner join markets on tff.market_code = markets.cftc_contract_market_code and markets.cot_report = 'tff'
),

disaggregated_nets as (
    select
        'disaggregated' as report,
        disaggregated.market_code,
        disaggregated.report_date,
        disaggregated.version,
        disaggregated.available_at,
        disaggregated.available_at_derived,
        disaggregated.open_interest,
        disaggregated.producer_merchant_long - disaggregated.producer_merchant_short as producer_merchant_net,
        disaggregated.swap_dealer_long - disaggregated.swap_dealer_short as swap_dealer_net,
        disaggregated.managed_money_long - disaggregated.managed_money_short as managed_money_net
    from disaggregated
    inner join markets
        on disaggregated.market_code = markets.cftc_contract_market_code and markets.cot_report = 'disaggregated'
),

unioned as (
    select * from legacy_nets
    union all by name
    select * from tff_nets
    union all by name
    select * from disaggregated_nets
),

intervals as (
    {{ version_intervals('unioned', ['report', 'market_code', 'report_date']) }}
),

final as (
    select
        report,
        market_code,
        report_date,
        version,
        open_interest,
        cast(commercial_net as bigint) as commercial_net,
        cast(noncommercial_net as bigint) as noncommercial_net,
        cast(dealer_net as bigint) as dealer_net,
        cast(asset_manager_net as bigint) as asset_manager_net,
        cast(leveraged_money_net as bigint) as leveraged_money_net,
        cast(producer_merchant_net as bigint) as producer_merchant_net,
        cast(swap_dealer_net as bigint) as swap_dealer_net,
        cast(managed_money_net as bigint) as managed_money_net,
        available_at,
        available_at_derived,
        known_from,
        known_until
    from intervals
)

select * from final
