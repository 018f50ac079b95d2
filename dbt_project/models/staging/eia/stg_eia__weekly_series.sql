with

source as (
    select * from {{ source('eia', 'weekly_series') }}
),

renamed as (
    select
        series_id,
        period as week_ending,
        value,
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
