with

instruments as (
    select * from {{ ref('stg_reference__instruments') }}
),

final as (
    select
        symbol,
        instrument_name,
        asset_class,
        calendar,
        price_source,
        price_series,
        price_field,
        price_kind,
        duration,
        cot_market_code,
        cot_report,
        cot_sign
    from instruments
)

select * from final
