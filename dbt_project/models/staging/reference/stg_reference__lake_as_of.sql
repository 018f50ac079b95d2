with

source as (
    select * from {{ source('reference', 'lake_as_of') }}
),

final as (
    select max(as_of_date) as as_of_date
    from source
)

select * from final
