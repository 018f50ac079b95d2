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
    select
        symbol,
        calendar
    from {{ ref('dim_instruments') }}
),

trading_days as (
    select
        calendar,
        trade_date,
        {{ decision_at('trade_date') }} as decision_at
    from {{ ref('stg_reference__trading_days') }}
),

observations as (
    select
        symbol,
        observed_date,
        close,
        version,
        available_at
    from {{ ref('int_prices__observations') }}
),

first_published as (
    select
        symbol,
        observed_date,
        min(available_at) as first_known_at
    from observations
    group by 1, 2
),

publishable as (
    select
        symbol,
        observed_date,
        first_known_at
    from first_published
    qualify min(first_known_at) over (
        partition by symbol order by observed_date desc rows between unbounded preceding and 1 preceding
    ) is null
    or min(first_known_at) over (
        partition by symbol order by observed_date desc rows between unbounded preceding and 1 preceding
    ) > first_known_at
),

versions as (
    select observations.*
    from observations
    semi join publishable
        on
            observations.symbol = publishable.symbol
            and observations.observed_date = publishable.observed_date
),

bounds as (
    select
        symbol,
        min(first_known_at) as first_known_at
    from publishable
    group by 1
),

lake_ends as (
    select
        trading_days.calendar,
        min(trading_days.trade_date) as last_trade_date
    from trading_days
    where trading_days.decision_at >= (select max(publishable.first_known_at) as last_first_known_at from publishable)
    group by 1
),

grid as (
    select
        instruments.symbol,
        instruments.calendar,
        trading_days.trade_date,
        trading_days.decision_at
    from trading_days
    inner join instruments on trading_days.calendar = instruments.calendar
    inner join bounds on instruments.symbol = bounds.symbol
    inner join lake_ends on instruments.calendar = lake_ends.calendar
    where
        trading_days.decision_at >= bounds.first_known_at
        and trading_days.trade_date <= lake_ends.last_trade_date
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
