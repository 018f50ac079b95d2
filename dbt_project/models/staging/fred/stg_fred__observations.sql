with

source as (
    select * from {{ source('fred', 'observations') }}
),

renamed as (
    select
        series_id,
        observation_date,
        realtime_start,
        value as observation_value,
        vintage_inferred,
        -- the earliest vintage of an observation is its first release; known as such from its own
        -- realtime_start on, since no earlier vintage can appear later
        realtime_start = min(realtime_start) over (
            partition by series_id, observation_date
        ) as is_first_release,
        available_at,
        available_at_derived,
        version,
        is_revision,
        ingested_at,
        source_sha256
    from source
)

select * from renamed
