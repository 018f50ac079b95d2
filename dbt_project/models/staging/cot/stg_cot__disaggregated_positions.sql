with

source as (
    select * from {{ source('cot', 'disaggregated_positions') }}
),

renamed as (
    select
        report_date,
        cftc_contract_market_code as market_code,
        futures_only,
        market_name,
        open_interest,
        producer_merchant_long,
        producer_merchant_short,
        swap_dealer_long,
        swap_dealer_short,
        swap_dealer_spread,
        managed_money_long,
        managed_money_short,
        managed_money_spread,
        other_reportable_long,
        other_reportable_short,
        other_reportable_spread,
        total_reportable_long,
        total_reportable_short,
        nonreportable_long,
        nonreportable_short,
        available_at,
        available_at_derived,
        version,
        is_revision,
        ingested_at,
        source_sha256
    from source
)

select * from renamed
