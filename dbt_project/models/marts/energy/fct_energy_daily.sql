{#-
    Energy as known on each NYSE trading day D: the latest WPSR and WNGSR weeks released by decision_at(D) (two
    as-of joins, since the two reports come out on different days), and the WTI and Henry Hub futures curves and
    spot prices as published by then (EIA refreshes prices weekly, so they lag D by several days).

    Curve figures combine prices of one date only: contracts 2 to 4 are shown when they are for the same date as
    contract 1, and the basis when spot and contract 1 are. Roll yield: ln(C1 / C2) x 12 (consecutive monthly
    contracts; positive in backwardation), null when a price is not positive (WTI on 20 April 2020).

    Days run from the first release or price to two weeks after EIA's last publication (the horizon of
    int_energy__daily_prices_realtime, which reads both EIA tables for it), capped at var('as_of_date') when the
    pipeline passes it (macros/as_of_cap.sql).
-#}
{%- set trailing_days = 13 %}
{%- set curves = {'wti': {'spot': 'RWTC', 'futures': 'RCLC'}, 'ng': {'spot': 'RNGWHHD', 'futures': 'RNGC'}} %}
with

weekly as (
    select * from {{ ref('fct_energy_weekly') }}
),

prices as (
    select * from {{ ref('int_energy__daily_prices_realtime') }}
),

span as (
    select
        least(
            (select min(decision_date) from weekly),
            (select min(trade_date) from prices)
        ) as first_date,
        {{ as_of_cap('greatest((select max(decision_date) from weekly) + ' ~ trailing_days ~ ', (select max(trade_date) from prices))') }}
            as last_date
),

grid as (
    select * from {{ trading_day_grid('span', 'NYSE') }}
    where trade_date between first_date and last_date
),

petroleum_weeks as (
    {#- One week per release instant (the latest week if a catch-up released two at once). -#}
    select * from weekly
    where petroleum_available_at is not null
    qualify row_number() over (partition by petroleum_available_at order by week_ending desc) = 1
),

gas_weeks as (
    select * from weekly
    where gas_available_at is not null
    qualify row_number() over (partition by gas_available_at order by week_ending desc) = 1
),

with_petroleum as (
    select
        g.trade_date,
        g.decision_at,
        p.week_ending as petroleum_week_ending,
        p.crude_stocks,
        p.crude_stocks_change,
        p.crude_stocks_change_5y_avg,
        p.crude_stocks_surprise,
        p.crude_stocks_surprise_z,
        p.refinery_utilization,
        p.refinery_utilization_5y_avg,
        p.crude_production,
        p.crude_imports,
        p.crude_exports,
        p.petroleum_available_at
    from grid as g
    asof left join petroleum_weeks as p on p.petroleum_available_at <= g.decision_at
),

with_gas as (
    select
        w.*,
        g.week_ending as gas_week_ending,
        g.working_gas,
        g.working_gas_5y_avg,
        g.working_gas_vs_5y_avg,
        g.working_gas_vs_5y_avg_pct,
        g.gas_available_at
    from with_petroleum as w
    asof left join gas_weeks as g on g.gas_available_at <= w.decision_at
),

daily_prices as (
    select
        trade_date,
        {%- for curve, ids in curves.items() %}
        max(price_date) filter (where series_id = '{{ ids.spot }}') as {{ curve }}_spot_date,
        max(price) filter (where series_id = '{{ ids.spot }}') as {{ curve }}_spot,
        {%- for k in range(1, 5) %}
        max(price_date) filter (where series_id = '{{ ids.futures }}{{ k }}') as {{ curve }}_c{{ k }}_date,
        max(price) filter (where series_id = '{{ ids.futures }}{{ k }}') as {{ curve }}_c{{ k }},
        {%- endfor %}
        {%- endfor %}
        max(value_known_at) as prices_max_known_at
    from prices
    group by trade_date
),

curves as (
    select
        trade_date,
        {%- for curve in curves %}
        {{ curve }}_spot_date,
        {{ curve }}_spot,
        {{ curve }}_c1_date as {{ curve }}_futures_date,
        {{ curve }}_c1,
        {%- for k in range(2, 5) %}
        case when {{ curve }}_c{{ k }}_date = {{ curve }}_c1_date then {{ curve }}_c{{ k }} end as {{ curve }}_c{{ k }},
        {%- endfor %}
        {%- endfor %}
        prices_max_known_at
    from daily_prices
),

final as (
    select
        w.trade_date,
        w.decision_at,
        w.petroleum_week_ending,
        w.crude_stocks,
        w.crude_stocks_change,
        w.crude_stocks_change_5y_avg,
        w.crude_stocks_surprise,
        w.crude_stocks_surprise_z,
        w.refinery_utilization,
        w.refinery_utilization_5y_avg,
        w.crude_production,
        w.crude_imports,
        w.crude_exports,
        w.petroleum_available_at,
        w.gas_week_ending,
        w.working_gas,
        w.working_gas_5y_avg,
        w.working_gas_vs_5y_avg,
        w.working_gas_vs_5y_avg_pct,
        w.gas_available_at,
        {%- for curve in curves %}
        c.{{ curve }}_futures_date,
        c.{{ curve }}_c1,
        c.{{ curve }}_c2,
        c.{{ curve }}_c3,
        c.{{ curve }}_c4,
        c.{{ curve }}_c1 - c.{{ curve }}_c2 as {{ curve }}_c1_c2_spread,
        c.{{ curve }}_c1 - c.{{ curve }}_c4 as {{ curve }}_c1_c4_spread,
        case when c.{{ curve }}_c1 > 0 and c.{{ curve }}_c2 > 0
            then 12 * ln(c.{{ curve }}_c1 / c.{{ curve }}_c2) end as {{ curve }}_roll_yield_annualized,
        c.{{ curve }}_spot_date,
        c.{{ curve }}_spot,
        case when c.{{ curve }}_spot_date = c.{{ curve }}_futures_date
            then c.{{ curve }}_spot - c.{{ curve }}_c1 end as {{ curve }}_basis,
        {%- endfor %}
        greatest(w.petroleum_available_at, w.gas_available_at, c.prices_max_known_at) as max_available_at_used
    from with_gas as w
    left join curves as c on c.trade_date = w.trade_date
)

select * from final
