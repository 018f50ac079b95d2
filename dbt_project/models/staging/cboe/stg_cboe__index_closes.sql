with

source as (
    select * from {{ source('cboe', 'index_closes') }}
),

renamed as (
    select
        index_symbol,
        observed_date,
        open as open_value,
        high as high_value,
        low as low_value,
        close as close_value,
        available_at,
        available_at_derived,
        version,
        is_revision,
        ingested_at,
        source_sha256
    from source
)

select * from renamed
