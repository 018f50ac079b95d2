with

source as (
    select * from {{ source('reference', 'instruments') }}
),

final as (
    select
        symbol,
        name as instrument_name,
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
    from source
)

select * from final
