with

source as (
    select * from {{ source('cot', 'legacy_positions') }}
),

renamed as (
    select
        report_date,
        cftc_contract_market_code as market_code,
        futures_only,
        market_name,
        open_interest,
        noncommercial_long,
        noncommercial_short,
        noncommercial_spread,
        commercial_long,
        commercial_short,
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
