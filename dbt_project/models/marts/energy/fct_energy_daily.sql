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

weekly_span as (
    select
        min(decision_date) as first_decision_date,
        max(decision_date) as last_decision_date
    from weekly
),

price_span as (
    select
        min(trade_date) as first_trade_date,
        max(trade_date) as last_trade_date
    from prices
),

span as (
    select
        least(weekly_span.first_decision_date, price_span.first_trade_date) as first_date,
        {{ as_of_cap('greatest(weekly_span.last_decision_date + ' ~ trailing_days ~ ', price_span.last_trade_date)') }}
            as last_date
    from weekly_span
    cross join price_span
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
        grid.trade_date,
        grid.decision_at,
        petroleum_weeks.week_ending as petroleum_week_ending,
        petroleum_weeks.crude_stocks,
        petroleum_weeks.crude_stocks_change,
        petroleum_weeks.crude_stocks_change_5y_avg,
        petroleum_weeks.crude_stocks_surprise,
        petroleum_weeks.crude_stocks_surprise_z,
        petroleum_weeks.refinery_utilization,
        petroleum_weeks.refinery_utilization_5y_avg,
        petroleum_weeks.crude_production,
        petroleum_weeks.crude_imports,
        petroleum_weeks.crude_exports,
        petroleum_weeks.petroleum_available_at
    from grid
    asof left join petroleum_weeks on grid.decision_at >= petroleum_weeks.petroleum_available_at
),

with_gas as (
    select
        with_petroleum.*,
        gas_weeks.week_ending as gas_week_ending,
        gas_weeks.working_gas,
        gas_weeks.working_gas_5y_avg,
        gas_weeks.working_gas_vs_5y_avg,
        gas_weeks.working_gas_vs_5y_avg_pct,
        gas_weeks.gas_available_at
    from with_petroleum
    asof left join gas_weeks on with_petroleum.decision_at >= gas_weeks.gas_available_at
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
    group by 1
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
                case when {{ curve }}_c{{ k }}_date = {{ curve }}_c1_date then {{ curve }}_c{{ k }} end
                    as {{ curve }}_c{{ k }},
            {%- endfor %}
        {%- endfor %}
        prices_max_known_at
    from daily_prices
),

final as (
    select
        with_gas.trade_date,
        with_gas.decision_at,
        with_gas.petroleum_week_ending,
        with_gas.crude_stocks,
        with_gas.crude_stocks_change,
        with_gas.crude_stocks_change_5y_avg,
        with_gas.crude_stocks_surprise,
        with_gas.crude_stocks_surprise_z,
        with_gas.refinery_utilization,
        with_gas.refinery_utilization_5y_avg,
        with_gas.crude_production,
        with_gas.crude_imports,
        with_gas.crude_exports,
        with_gas.petroleum_available_at,
        with_gas.gas_week_ending,
        with_gas.working_gas,
        with_gas.working_gas_5y_avg,
        with_gas.working_gas_vs_5y_avg,
        with_gas.working_gas_vs_5y_avg_pct,
        with_gas.gas_available_at,
        {%- for curve in curves %}
            curves.{{ curve }}_futures_date,
            curves.{{ curve }}_c1,
            curves.{{ curve }}_c2,
            curves.{{ curve }}_c3,
            curves.{{ curve }}_c4,
            curves.{{ curve }}_c1 - curves.{{ curve }}_c2 as {{ curve }}_c1_c2_spread,
            curves.{{ curve }}_c1 - curves.{{ curve }}_c4 as {{ curve }}_c1_c4_spread,
            case
                when curves.{{ curve }}_c1 > 0 and curves.{{ curve }}_c2 > 0
                    then 12 * ln(curves.{{ curve }}_c1 / curves.{{ curve }}_c2)
            end as {{ curve }}_roll_yield_annualized,
            curves.{{ curve }}_spot_date,
            curves.{{ curve }}_spot,
            case
                when curves.{{ curve }}_spot_date = curves.{{ curve }}_futures_date
                    then curves.{{ curve }}_spot - curves.{{ curve }}_c1
            end as {{ curve }}_basis,
        {%- endfor %}
        greatest(
            with_gas.petroleum_available_at, with_gas.gas_available_at, curves.prices_max_known_at
        ) as max_available_at_used
    from with_gas
    left join curves on with_gas.trade_date = curves.trade_date
)

select * from final
