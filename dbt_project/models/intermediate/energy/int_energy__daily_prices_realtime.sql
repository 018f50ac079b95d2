{#-
    Each EIA daily price series on each NYSE trading day: the latest price published by the day's decision time, at
    the version known then. EIA refreshes its price history once a week (with the Wednesday WPSR), so the price
    used on D is often several days old: observation_age_days says how old.

    A series' days run from its first publication to two weeks after EIA's last publication in the lake, prices or
    weekly reports (the next refresh is due within a week; the slack keeps a delayed one from leaving a hole), so
    fct_energy_daily, which ends at the same horizon, has prices on every row.

    A weekly refresh publishes five days at one instant; realtime_values takes the latest of them.
-#}
{%- set trailing_days = 13 %}
with

prices as (
    select * from {{ ref('stg_eia__daily_prices') }}
),

weekly_reports as (
    select * from {{ ref('stg_eia__weekly_series') }}
),

publications as (
    select available_at from prices
    union all
    select available_at from weekly_reports
),

horizon as (
    select {{ as_of_cap('cast(max(available_at) as date) + ' ~ trailing_days) }} as last_date
    from publications
),

series as (
    select
        series_id,
        cast(min(available_at) as date) as first_date,
        (select horizon.last_date from horizon) as last_date
    from prices
    group by 1
),

grid as (
    select * from {{ trading_day_grid('series', 'NYSE') }}
    where trade_date between first_date and last_date
),

realtime as (
    select * from {{ realtime_values('prices', 'grid', ['series_id'], 'price_date', ['price']) }}
),

final as (
    select
        series_id,
        trade_date,
        decision_at,
        price_date,
        price,
        value_known_at,
        observation_age_days
    from realtime
    where price_date is not null
)

select * from final
