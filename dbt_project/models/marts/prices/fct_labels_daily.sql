{#-
    Forward returns (labels) per instrument and trading day: the ONLY model allowed to look forward. It reads
    the closes of later trading days, so nothing here may feed a feature; features read int_prices__realtime /
    fct_prices_daily instead.

    Closes are taken as first published (version 1), never as later revised: a label then never changes once it
    is known, `label_known_at_<h>d` (when both its entry and exit closes had been published) says from when a
    model may train on it, and cutting the lake after any date T leaves every label known by T exactly as it was.
    A revision published later would otherwise rewrite old labels and make models trained before it
    irreproducible.

    The entry price of day D is the close of D (the last close observed on or before D on the instrument's
    calendar); a horizon reaching past the last observation is null.
-#}
with

observations as (
    select
        symbol,
        observed_date,
        close,
        available_at as first_known_at
    from {{ ref('int_prices__observations') }}
    where version = 1
),

instruments as (
    select
        symbol,
        calendar,
        price_kind,
        duration
    from {{ ref('dim_instruments') }}
),

trading_days as (
    select
        calendar,
        trade_date
    from {{ ref('stg_reference__trading_days') }}
),

bounds as (
    select
        symbol,
        min(observed_date) as first_date,
        max(observed_date) as last_date
    from observations
    group by 1
),

grid as (
    select
        instruments.symbol,
        instruments.price_kind,
        instruments.duration,
        trading_days.trade_date
    from trading_days
    inner join instruments on trading_days.calendar = instruments.calendar
    inner join bounds on instruments.symbol = bounds.symbol
    where
        trading_days.trade_date >= bounds.first_date
        and trading_days.trade_date <= bounds.last_date
),

closes as (
    select
        grid.*,
        observations.close,
        observations.observed_date,
        observations.first_known_at
    from grid
    asof left join observations
        on
            grid.symbol = observations.symbol
            and grid.trade_date >= observations.observed_date
),

labels as (
    select
        symbol,
        trade_date,
        close as entry_close,
        observed_date as entry_observed_date,
        {% for h in [1, 2, 3, 5, 7, 10] %}
            case
                when price_kind = 'yield'
                    then -duration * (lead(close, {{ h }}) over symbol_days - close) / 100
                when close > 0 and lead(close, {{ h }}) over symbol_days > 0
                    then ln(lead(close, {{ h }}) over symbol_days / close)
            end as fwd_return_{{ h }}d,
            greatest(first_known_at, lead(first_known_at, {{ h }}) over symbol_days)
                as label_known_at_{{ h }}d{% if not loop.last %},{% endif %}
        {% endfor %}
    from closes
    window symbol_days as (partition by symbol order by trade_date)
),

final as (
    select
        symbol,
        trade_date,
        entry_close,
        entry_observed_date,
        {% for h in [1, 2, 3, 5, 7, 10] %}
            round(fwd_return_{{ h }}d, 10) as fwd_return_{{ h }}d,
            case when fwd_return_{{ h }}d is not null then label_known_at_{{ h }}d end as label_known_at_{{ h }}d
            {%- if not loop.last %},{% endif %}
        {% endfor %}
    from labels
)

select * from final
