{#- Each Cboe index on each NYSE trading day: the latest close published by the day's decision time. -#}
with

closes as (
    select * from {{ ref('stg_cboe__index_closes') }}
),

symbols as (
    select
        index_symbol,
        min(observed_date) as first_date
    from closes
    group by 1
),

grid as (
    select * from {{ trading_day_grid('symbols', 'NYSE') }}
    where
        trade_date >= first_date
        and trade_date <= (select max(closes.observed_date) as last_observed_date from closes)
),

realtime as (
    select * from {{ realtime_values('closes', 'grid', ['index_symbol'], 'observed_date', ['close_value']) }}
),

final as (
    select
        index_symbol,
        trade_date,
        decision_at,
        observed_date,
        close_value,
        value_known_at,
        observation_age_days
    from realtime
)

select * from final
