{#-
    Each instrument on each trading day of its calendar, as known at the day's decision time: the close (the
    latest observation published by then), returns over 1, 5 and 20 trading days, realized volatility, drawdown
    and distance from the 200-day mean. Every statistic is a window over int_prices__realtime, whose rows only
    hold values known at their own decision time, so nothing here reads a later revision or a future close.

    Yield instruments keep the yield as `close`; their returns are -duration x change in yield / 100, and the
    drawdown and 200-day distance are taken on the index those returns compound to (the holder's view).
-#}
with

realtime as (
    select * from {{ ref('int_prices__realtime') }}
),

instruments as (
    select
        symbol,
        price_kind,
        duration
    from {{ ref('dim_instruments') }}
),

returns as (
    select
        realtime.symbol,
        realtime.calendar,
        realtime.trade_date,
        realtime.decision_at,
        realtime.observed_date,
        realtime.observation_age_days,
        realtime.close,
        realtime.value_known_at,
        instruments.price_kind,
        {% for n in [1, 5, 20] %}
            case
                when instruments.price_kind = 'yield'
                    then -instruments.duration * (realtime.close - lag(realtime.close, {{ n }}) over symbol_days) / 100
                when realtime.close > 0 and lag(realtime.close, {{ n }}) over symbol_days > 0
                    then ln(realtime.close / lag(realtime.close, {{ n }}) over symbol_days)
            end as return_{{ n }}d{% if not loop.last %},{% endif %}
        {% endfor %}
    from realtime
    inner join instruments on realtime.symbol = instruments.symbol
    window symbol_days as (partition by realtime.symbol order by realtime.trade_date)
),

indexed as (
    select
        *,
        case
            when price_kind = 'yield'
                then exp(sum(coalesce(return_1d, 0)) over (
                    partition by symbol order by trade_date rows between unbounded preceding and current row
                ))
            else close
        end as price_index
    from returns
),

stats as (
    select
        *,
        {{ rolling_std('return_1d', 'symbol', 'trade_date', 20, 20) }}
        * sqrt(case when calendar = 'CRYPTO' then 365 else 252 end) as realized_vol_20d,
        {{ rolling_std('return_1d', 'symbol', 'trade_date', 60, 60) }}
        * sqrt(case when calendar = 'CRYPTO' then 365 else 252 end) as realized_vol_60d,
        price_index / nullif(max(price_index) over (
            partition by symbol order by trade_date rows between unbounded preceding and current row
        ), 0) - 1 as drawdown,
        price_index / nullif({{ rolling_mean('price_index', 'symbol', 'trade_date', 200, 200) }}, 0) - 1
            as distance_from_200d_mean,
        -- the drawdown reads the whole history, so every earlier row's facts count
        max(value_known_at) over (
            partition by symbol order by trade_date rows between unbounded preceding and current row
        ) as max_available_at_used
    from indexed
),

final as (
    -- statistics rounded to 1e-10: drops binary noise and makes results comparable exactly (unit tests)
    select
        symbol,
        trade_date,
        close,
        observed_date,
        observation_age_days,
        {% for c in [
            'return_1d', 'return_5d', 'return_20d', 'realized_vol_20d', 'realized_vol_60d', 'drawdown',
            'distance_from_200d_mean'
        ] %}
            round({{ c }}, 10) as {{ c }},
        {% endfor %}
        decision_at,
        max_available_at_used
    from stats
    -- days on which the instrument has no current price (feed stale beyond max_observation_age_days)
    where close is not null
)

select * from final
