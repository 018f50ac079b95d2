with

source as (
    select * from {{ source('fred', 'series') }}
),

renamed as (
    select
        series_id,
        title as series_title,
        units,
        units_short,
        frequency,
        frequency_short,
        seasonal_adjustment,
        seasonal_adjustment_short,
        observation_start,
        observation_end,
        last_updated,
        popularity,
        notes,
        available_at,
        available_at_derived,
        version,
        is_revision,
        ingested_at,
        source_sha256
    from source
)

select * from renamed
