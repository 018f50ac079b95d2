with

source as (
    select * from {{ source('coinmetrics', 'asset_metrics') }}
),

renamed as (
    select
        asset,
        metric,
        observed_date,
        value as metric_value,
        available_at,
        available_at_derived,
        version,
        is_revision,
        ingested_at,
        source_sha256
    from source
)

select * from renamed
