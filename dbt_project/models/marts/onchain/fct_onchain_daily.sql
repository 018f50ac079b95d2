{#-
    On-chain valuation and activity of each crypto instrument on each CRYPTO trading day, as known at its
    decision time (int_onchain__realtime: Coin Metrics' day D is public on D+1, so D's row reads D-1 at best).
    Rolling statistics are windows over that real-time series, so they never read a value published later.
-#}
with

realtime as (
    select * from {{ ref('int_onchain__realtime') }}
),

instruments as (
    select
        symbol,
        price_series as asset
    from {{ ref('dim_instruments') }}
    where price_source = 'coinmetrics'
),

-- every metric runs to the same last day, so each symbol's days are contiguous and windows of n rows are n days
pivoted as (
    select
        symbol,
        trade_date,
        any_value(decision_at) as decision_at,
        max(metric_value) filter (where metric = 'CapMVRVCur') as mvrv,
        max(metric_value) filter (where metric = 'NVTAdj') as nvt_adj,
        max(metric_value) filter (where metric = 'AdrActCnt') as active_addresses,
        max(metric_value) filter (where metric = 'HashRate') as hash_rate,
        max(metric_value) filter (where metric = 'SplyAdrTop100') as top100_supply,
        coalesce(
            max(metric_value) filter (where metric = 'SplyCur'),
            max(metric_value) filter (where metric = 'CapMrktCurUSD')
            / nullif(max(metric_value) filter (where metric = 'PriceUSD'), 0)
        ) as supply,
        max(metric_value) filter (where metric = 'VtyDayRet30d') as vol_30d,
        min(observed_date) filter (where metric_value is not null) as observed_date,
        max(value_known_at) as known_at
    from realtime
    group by 1, 2
),

joined as (
    select
        symbol,
        trade_date,
        decision_at,
        observed_date,
        mvrv,
        nvt_adj,
        active_addresses,
        hash_rate,
        top100_supply / nullif(supply, 0) as top100_supply_share,
        vol_30d,
        known_at
    from pivoted
),

stats as (
    select
        *,
        {{ rolling_zscore('mvrv', 'symbol', 'trade_date', 365, var('min_obs_1y')) }} as mvrv_z_365d,
        {{ rolling_percentile('mvrv', 'symbol', 'trade_date', 365, var('min_obs_1y')) }} as mvrv_pct_365d,
        {{ rolling_mean('active_addresses', 'symbol', 'trade_date', 7, 7) }}
        / nullif({{ rolling_mean('active_addresses', 'symbol', 'trade_date', 28, 28) }}, 0) - 1
            as active_addresses_mom_7d_28d,
        {{ rolling_mean('hash_rate', 'symbol', 'trade_date', 30, 30) }}
        / nullif({{ rolling_mean('hash_rate', 'symbol', 'trade_date', 60, 60) }}, 0) - 1
            as hash_rate_mom_30d_60d,
        -- the longest window (365 rows) bounds every fact the row reads
        max(known_at) over (
            partition by symbol order by trade_date rows between 364 preceding and current row
        ) as max_available_at_used
    from joined
),

final as (
    -- statistics rounded to 1e-10: drops binary noise and makes results comparable exactly (unit tests)
    select
        stats.symbol,
        instruments.asset,
        stats.trade_date,
        stats.observed_date,
        stats.mvrv,
        round(stats.mvrv_z_365d, 10) as mvrv_z_365d,
        round(stats.mvrv_pct_365d, 10) as mvrv_pct_365d,
        stats.nvt_adj,
        stats.active_addresses,
        round(stats.active_addresses_mom_7d_28d, 10) as active_addresses_mom_7d_28d,
        stats.hash_rate,
        round(stats.hash_rate_mom_30d_60d, 10) as hash_rate_mom_30d_60d,
        round(stats.top100_supply_share, 10) as top100_supply_share,
        stats.vol_30d,
        stats.decision_at,
        stats.max_available_at_used
    from stats
    inner join instruments on stats.symbol = instruments.symbol
    -- days on which no metric is current (feed stale beyond max_observation_age_days)
    where stats.known_at is not null
)

select * from final
