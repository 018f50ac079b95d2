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
        l.market_code,
        l.report_date,
        l.version,
        l.available_at,
        l.available_at_derived,
        l.open_interest,
        l.commercial_long - l.commercial_short as commercial_net,
        l.noncommercial_long - l.noncommercial_short as noncommercial_net
    from legacy as l
    inner join markets as m on m.cftc_contract_market_code = l.market_code
),

tff_nets as (
    select
        'tff' as report,
        t.market_code,
        t.report_date,
        t.version,
        t.available_at,
        t.available_at_derived,
        t.open_interest,
        t.dealer_long - t.dealer_short as dealer_net,
        t.asset_manager_long - t.asset_manager_short as asset_manager_net,
        t.leveraged_funds_long - t.leveraged_funds_short as leveraged_money_net
    from tff as t
    inner join markets as m on m.cftc_contract_market_code = t.market_code and m.cot_report = 'tff'
),

disaggregated_nets as (
    select
        'disaggregated' as report,
        d.market_code,
        d.report_date,
        d.version,
        d.available_at,
        d.available_at_derived,
        d.open_interest,
        d.producer_merchant_long - d.producer_merchant_short as producer_merchant_net,
        d.swap_dealer_long - d.swap_dealer_short as swap_dealer_net,
        d.managed_money_long - d.managed_money_short as managed_money_net
    from disaggregated as d
    inner join markets as m on m.cftc_contract_market_code = d.market_code and m.cot_report = 'disaggregated'
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
