with

source as (
    select * from {{ source('cot', 'tff_positions') }}
),

renamed as (
    select
        report_date,
        cftc_contract_market_code as market_code,
        futures_only,
        market_name,
        open_interest,
        dealer_long,
        dealer_short,
        dealer_spread,
        asset_manager_long,
        asset_manager_short,
        asset_manager_spread,
        leveraged_funds_long,
        leveraged_funds_short,
        leveraged_funds_spread,
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
