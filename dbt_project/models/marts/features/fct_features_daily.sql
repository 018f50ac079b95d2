{#-
    The model input: one wide row per instrument and trading day of its calendar, point in time.

    Every part is a point-in-time mart already (each row uses only facts available by its decision time), so the
    joins only have to pick, for each instrument row, the latest row of every other mart dated on or before it:
    an ASOF join, which also carries market-wide NYSE values (volatility, macro, energy, positioning) over crypto
    weekends. Positioning is sign-adjusted with cot_sign so that positive always means speculators are long the
    instrument. Column names follow the feature contract used by assets/models and assets/signals.
-#}
with

prices as (
    select * from {{ ref('fct_prices_daily') }}
),

instruments as (
    select
        symbol,
        asset_class,
        calendar
    from {{ ref('dim_instruments') }}
),

vol as (
    select * from {{ ref('fct_vol_term_structure_daily') }}
),

macro as (
    select * from {{ ref('fct_macro_daily') }}
),

energy as (
    select * from {{ ref('fct_energy_daily') }}
),

positioning as (
    select * from {{ ref('fct_cot_positioning_daily') }}
    where symbol is not null
),

onchain as (
    select * from {{ ref('fct_onchain_daily') }}
),

price_features as (
    select
        prices.symbol,
        prices.trade_date,
        instruments.asset_class,
        instruments.calendar,
        prices.decision_at,
        prices.close,
        prices.return_1d as ret_1d,
        prices.return_5d as ret_5d,
        prices.return_20d as ret_20d,
        {% for n in [60, 120, 250] %}
            case
                when
                    count(prices.return_1d) over (
                        partition by prices.symbol order by prices.trade_date
                        rows between {{ n - 1 }} preceding and current row
                    ) = {{ n }}
                    then sum(prices.return_1d) over (
                        partition by prices.symbol order by prices.trade_date
                        rows between {{ n - 1 }} preceding and current row
                    )
            end as ret_{{ n }}d,
        {% endfor %}
        prices.realized_vol_20d as rvol_20d,
        prices.realized_vol_60d as rvol_60d,
        prices.drawdown,
        prices.distance_from_200d_mean as dist_ma200,
        prices.max_available_at_used as prices_known_at
    from prices
    inner join instruments on prices.symbol = instruments.symbol
),

with_vol as (
    select
        price_features.*,
        vol.vix,
        vol.vix_vix3m_ratio,
        vol.vix9d_vix_ratio,
        vol.vix_pct_1y,
        vol.skew_pct_1y,
        case when vol.vix_vix3m_ratio > 1 then 1.0 when vol.vix_vix3m_ratio is not null then 0.0 end
            as vix_backwardation,
        vol.max_available_at_used as vol_known_at
    from price_features
    asof left join vol on price_features.trade_date >= vol.trade_date
),

with_macro as (
    select
        with_vol.*,
        macro.dgs10,
        macro.curve_10y2y,
        macro.curve_10y3m,
        macro.dgs10_change_20d_bp as dgs10_chg_20d,
        macro.usd_broad_return_20d as usd_ret_20d,
        macro.max_available_at_used as macro_known_at
    from with_vol
    asof left join macro on with_vol.trade_date >= macro.trade_date
),

with_energy as (
    select
        with_macro.*,
        energy.crude_stocks_surprise_z as crude_surprise_z,
        energy.crude_stocks_change - energy.crude_stocks_change_5y_avg as crude_change_vs_5y,
        energy.working_gas_vs_5y_avg_pct as gas_storage_vs_5y_pct,
        energy.wti_roll_yield_annualized as wti_roll_yield,
        energy.wti_c1_c2_spread as wti_c1_c2,
        energy.wti_basis,
        energy.ng_roll_yield_annualized as ng_roll_yield,
        datediff(
            'day', cast(timezone('America/New_York', energy.petroleum_available_at) as date), with_macro.trade_date
        ) as energy_days_since_release,
        energy.max_available_at_used as energy_known_at
    from with_macro
    asof left join energy on with_macro.trade_date >= energy.trade_date
),

with_positioning as (
    select
        with_energy.*,
        positioning.speculator_net_share * positioning.cot_sign as cot_spec_net_share,
        positioning.speculator_z52 * positioning.cot_sign as cot_spec_z52,
        case
            when positioning.cot_sign = 1 then positioning.speculator_pct52 else 1 - positioning.speculator_pct52
        end as cot_spec_pct52,
        positioning.smart_money_net_share * positioning.cot_sign as cot_smart_net_share,
        positioning.smart_money_z52 * positioning.cot_sign as cot_smart_z52,
        positioning.smart_speculator_divergence * positioning.cot_sign as cot_divergence,
        positioning.divergence_z52 * positioning.cot_sign as cot_divergence_z52,
        case
            when positioning.cot_sign = 1 then positioning.speculator_cot_index52
            else 100 - positioning.speculator_cot_index52
        end as cot_index,
        datediff('day', positioning.report_date, with_energy.trade_date) as cot_days_since_report,
        positioning.max_available_at_used as positioning_known_at
    from with_energy
    asof left join positioning
        on with_energy.symbol = positioning.symbol and with_energy.trade_date >= positioning.trade_date
),

with_onchain as (
    select
        with_positioning.*,
        onchain.mvrv,
        onchain.mvrv_z_365d as mvrv_z365,
        onchain.nvt_adj as nvt,
        onchain.active_addresses_mom_7d_28d as active_addr_mom,
        onchain.hash_rate_mom_30d_60d as hashrate_mom,
        onchain.top100_supply_share as top100_share,
        onchain.max_available_at_used as onchain_known_at
    from with_positioning
    left join onchain on with_positioning.symbol = onchain.symbol and with_positioning.trade_date = onchain.trade_date
),

{#- Features are rounded to 10 decimals: DuckDB's windowed sums and standard deviations can differ in the last
    bit with the size of the partition they run over, and a model input must be exactly the same whether or not
    later data exists (the truncation-invariance test cuts the lake and compares signals byte for byte); adding 0.0
    turns a negative zero into zero for the same reason. -#}
{%- set features = [
    'close', 'ret_1d', 'ret_5d', 'ret_20d', 'ret_60d', 'ret_120d', 'ret_250d', 'rvol_20d', 'rvol_60d', 'drawdown',
    'dist_ma200', 'vix', 'vix_vix3m_ratio', 'vix9d_vix_ratio', 'vix_pct_1y', 'skew_pct_1y', 'vix_backwardation',
    'cot_spec_net_share', 'cot_spec_z52', 'cot_spec_pct52', 'cot_smart_net_share', 'cot_smart_z52',
    'cot_divergence', 'cot_divergence_z52', 'cot_index', 'cot_days_since_report',
    'dgs10', 'curve_10y2y', 'curve_10y3m', 'dgs10_chg_20d', 'usd_ret_20d',
    'crude_surprise_z', 'crude_change_vs_5y', 'gas_storage_vs_5y_pct', 'wti_roll_yield', 'wti_c1_c2', 'wti_basis',
    'ng_roll_yield', 'energy_days_since_release',
    'mvrv', 'mvrv_z365', 'nvt', 'active_addr_mom', 'hashrate_mom', 'top100_share',
] %}

final as (
    select
        symbol,
        trade_date,
        asset_class,
        calendar,
        {% for f in features -%}
            round(cast({{ f }} as double), 10) + 0.0 as {{ f }},
        {% endfor -%}
        decision_at,
        greatest(
            prices_known_at,
            coalesce(vol_known_at, prices_known_at),
            coalesce(macro_known_at, prices_known_at),
            coalesce(energy_known_at, prices_known_at),
            coalesce(positioning_known_at, prices_known_at),
            coalesce(onchain_known_at, prices_known_at)
        ) as max_available_at_used
    from with_onchain
)

select * from final
