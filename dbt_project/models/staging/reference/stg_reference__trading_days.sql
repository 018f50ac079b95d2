with

source as (
    select * from {{ source('reference', 'trading_days') }}
),

final as (
    select
        calendar,
        trade_date
    from source
)

select * from final
