{#- Each version of each EIA weekly value with the interval in which it was the latest published value. -#}
with

weekly as (
    select * from {{ ref('stg_eia__weekly_series') }}
),

intervals as (
    {{ version_intervals('weekly', ['series_id', 'week_ending']) }}
),

final as (
    select
        series_id,
        week_ending,
        value,
        version,
        available_at,
        available_at_derived,
        known_from,
        known_until
    from intervals
)

select * from final
