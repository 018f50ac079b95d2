with

source as (
    select * from {{ source('eia', 'daily_prices') }}
),

renamed as (
    select
        series_id,
        period as price_date,
        value as price,
        units,
        available_at,
        available_at_derived,
        version,
        is_revision,
        ingested_at,
        source_sha256
    from source
)

select * from renamed
