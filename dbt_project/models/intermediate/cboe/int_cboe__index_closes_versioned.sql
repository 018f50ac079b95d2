{#- Each version of each index value with the interval in which it was the known value. -#}
with

closes as (
    select * from {{ ref('stg_cboe__index_closes') }}
),

intervals as (
    {{ version_intervals('closes', ['index_symbol', 'observed_date']) }}
),

final as (
    select
        index_symbol,
        observed_date,
        close_value,
        version,
        known_from,
        known_until
    from intervals
)

select * from final
