{#-
    Rates, curve and dollar on each NYSE trading day as known at its decision time, from FRED's vintages
    (int_macro__realtime: the latest observation published by then, at the vintage current then). Changes are
    differences between trading days of that real-time series, so a revision published later never changes a
    row dated before it. The 10y-2y and 10y-3m curves are FRED's published spreads (T10Y2Y, T10Y3M) when they
    are at least as recent as both legs, else computed from the legs.
-#}
with

realtime as (
    select * from {{ ref('int_macro__realtime') }}
),

-- every series runs to the same last day, so the trading days here are contiguous and lag(n) is n trading days
pivoted as (
    select
        trade_date,
        any_value(decision_at) as decision_at,
        {% for s in ['DGS10', 'DGS2', 'DGS3MO', 'T10Y2Y', 'T10Y3M', 'DTWEXBGS'] %}
            max(observation_value) filter (where series_id = '{{ s }}') as {{ s | lower }},
            max(observation_date) filter (
                where series_id = '{{ s }}' and observation_value is not null
            ) as {{ s | lower }}_date,
        {% endfor %}
        max(value_known_at) as known_at
    from realtime
    group by 1
),

curves as (
    select
        pivoted.trade_date,
        pivoted.decision_at,
        pivoted.dgs10,
        pivoted.dgs2,
        pivoted.dgs3mo,
        case
            when
                pivoted.t10y2y is not null
                and (pivoted.dgs10_date is null or pivoted.t10y2y_date >= pivoted.dgs10_date)
                and (pivoted.dgs2_date is null or pivoted.t10y2y_date >= pivoted.dgs2_date)
                then pivoted.t10y2y
            else pivoted.dgs10 - pivoted.dgs2
        end as curve_10y2y,
        case
            when
                pivoted.t10y3m is not null
                and (pivoted.dgs10_date is null or pivoted.t10y3m_date >= pivoted.dgs10_date)
                and (pivoted.dgs3mo_date is null or pivoted.t10y3m_date >= pivoted.dgs3mo_date)
                then pivoted.t10y3m
            else pivoted.dgs10 - pivoted.dgs3mo
        end as curve_10y3m,
        pivoted.dtwexbgs as usd_broad,
        pivoted.dgs10_date as dgs10_observed_date,
        pivoted.known_at
    from pivoted
),

changes as (
    select
        *,
        {% for c in ['dgs10', 'dgs2', 'dgs3mo', 'curve_10y2y', 'curve_10y3m'] %}
            {% for n in [5, 20] %}
                100 * ({{ c }} - lag({{ c }}, {{ n }}) over by_day) as {{ c }}_change_{{ n }}d_bp,
            {% endfor %}
        {% endfor %}
        case
            when
                usd_broad > 0 and lag(usd_broad, 20) over by_day > 0
                then ln(usd_broad / lag(usd_broad, 20) over by_day)
        end as usd_broad_return_20d,
        -- facts used: today's values and those of 5 and 20 trading days ago
        greatest(known_at, lag(known_at, 5) over by_day, lag(known_at, 20) over by_day) as max_available_at_used
    from curves
    window by_day as (order by trade_date)
),

final as (
    -- derived values rounded to 1e-10: 100 x (3.64 - 3.57) is 7.000000000000028 in binary floating point
    select
        trade_date,
        dgs10,
        dgs2,
        dgs3mo,
        {% for c in [
            'curve_10y2y', 'curve_10y3m',
            'dgs10_change_5d_bp', 'dgs10_change_20d_bp', 'dgs2_change_5d_bp', 'dgs2_change_20d_bp',
            'dgs3mo_change_5d_bp', 'dgs3mo_change_20d_bp', 'curve_10y2y_change_5d_bp', 'curve_10y2y_change_20d_bp',
            'curve_10y3m_change_5d_bp', 'curve_10y3m_change_20d_bp'
        ] %}
            round({{ c }}, 10) as {{ c }},
        {% endfor %}
        usd_broad,
        round(usd_broad_return_20d, 10) as usd_broad_return_20d,
        dgs10_observed_date,
        decision_at,
        max_available_at_used
    from changes
    -- days on which no series is current (every feed stale beyond max_observation_age_days)
    where known_at is not null
)

select * from final
