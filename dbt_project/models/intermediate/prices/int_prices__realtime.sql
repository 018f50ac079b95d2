{#-
    Each instrument on each trading day of its own calendar: the latest close published by the day's decision
    time, at the version known then (realtime_values).

    Rows run from the first trading day on which a close of the instrument is known to the lake's last
    publication (the first trading day whose decision time is at or after the latest first publication of any
    price): a row for D depends only on facts public by decision_at(D), so cutting the lake after any T leaves
    the rows dated <= T exactly as they are, whichever publisher was last heard from. Values older than
    var('max_observation_age_days') days at D (a discontinued or broken feed) are not a current price: close is
    null there, and fct_prices_daily leaves such days out.

    `publishable` drops observations that are never "the latest": a date d whose first publication came no
    earlier than that of some later date d' (FRED's weekly H.10 batch publishes Monday..Friday at one instant;
    EIA refreshes a week of prices at once). realtime_values orders observations by first publication only, so
    ties would otherwise be broken arbitrarily; after the filter, later dates are strictly later published and
    the pick is the latest observation date known at decision time. Whether d is dropped depends only on dates
    published no later than d, so the filter cannot look ahead.
-#}
with

instruments as (
    select symbol, calendar from {{ ref('dim_instruments') }}
),

trading_days as (
    select calendar, trade_date, {{ decision_at('trade_date') }} as decision_at
    from {{ ref('stg_reference__trading_days') }}
),

observations as (
    select symbol, observed_date, close, version, available_at
    from {{ ref('int_prices__observations') }}
),

first_published as (
    select symbol, observed_date, min(available_at) as first_known_at
    from observations
    group by symbol, observed_date
),

publishable as (
    select symbol, observed_date, first_known_at
    from first_published
    qualify min(first_known_at) over (
        partition by symbol order by observed_date desc rows between unbounded preceding and 1 preceding
    ) is null
    or min(first_known_at) over (
        partition by symbol order by observed_date desc rows between unbounded preceding and 1 preceding
    ) > first_known_at
),

versions as (
    select o.*
    from observations as o
    semi join publishable as p
        on p.symbol = o.symbol
        and p.observed_date = o.observed_date
),

bounds as (
    select symbol, min(first_known_at) as first_known_at
    from publishable
    group by symbol
),

lake_ends as (
    select d.calendar, min(d.trade_date) as last_trade_date
    from trading_days as d
    where d.decision_at >= (select max(first_known_at) from publishable)
    group by d.calendar
),

grid as (
    select i.symbol, i.calendar, d.trade_date, d.decision_at
    from trading_days as d
    inner join instruments as i on i.calendar = d.calendar
    inner join bounds as b on b.symbol = i.symbol
    inner join lake_ends as e on e.calendar = i.calendar
    where d.decision_at >= b.first_known_at
      and d.trade_date <= e.last_trade_date
),

realtime as (
    select * from {{ realtime_values('versions', 'grid', ['symbol'], 'observed_date', ['close']) }}
),

final as (
    select
        symbol,
        calendar,
        trade_date,
        decision_at,
        observed_date,
        case when observation_age_days <= {{ var('max_observation_age_days', 31) }} then close end as close,
        case when observation_age_days <= {{ var('max_observation_age_days', 31) }} then value_known_at end
            as value_known_at,
        observation_age_days
    from realtime
)

select * from final
