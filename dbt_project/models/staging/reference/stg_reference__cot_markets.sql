with

source as (
    select * from {{ source('reference', 'cot_markets') }}
),

final as (
    select
        cftc_contract_market_code,
        label as market_label,
        report as cot_report,
        sign as cot_sign,
        symbol
    from source
)

select * from final
