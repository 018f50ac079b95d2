{#-
    The VIX term structure as known at each trading day's decision time.
    Every value is the version of that index value that was public at decision_at (restatements published
    later do not change past rows), and the 1-year percentiles rank today's value among the past year's values
    as they were known on that day.

    Incremental: a row for D reads only versions observed in (D - 365 days, D], so a silver row ingested since
    the last build can change rows from its observed date on, never before. Each build recomputes the trading
    days from the earliest observed date among the rows ingested since the newest `source_ingested_through` in
    the table, less ten minutes (nothing when there are none), which also covers restatements and late backfills of
    old dates.
-#}
{{ config(
    materialized='incremental',
    unique_key='trade_date',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
) }}
with

closes as (
    select * from {{ ref('stg_cboe__index_closes') }}
),

versions as (
    select * from {{ ref('int_cboe__index_closes_versioned') }}
),

{% if is_incremental() %}
rebuild as (
    select min(observed_date) as from_date
    from closes
    -- ten minutes of margin: rows stamped before the watermark but committed after the last build read silver
    -- (two ingests of Cboe at once) are still picked up
    where ingested_at > (select max(source_ingested_through) from {{ this }}) - interval 10 minute
),
{% endif %}

trading_days as (
    select distinct
        observed_date as trade_date,
        {{ decision_at('observed_date') }} as decision_at
    from versions
    where index_symbol = 'VIX'
    {% if is_incremental() %}
        and observed_date >= (select from_date from rebuild)
    {% endif %}
),

known_today as (
    select
        d.trade_date,
        d.decision_at,
        v.index_symbol,
        v.close_value,
        v.known_from
    from trading_days as d
    inner join versions as v
        on v.observed_date = d.trade_date
        and {{ known_at('v', 'd.decision_at') }}
),

known_past_year as (
    select
        d.trade_date,
        v.index_symbol,
        v.close_value,
        v.known_from
    from trading_days as d
    inner join versions as v
        on v.observed_date > d.trade_date - interval 365 day
        and v.observed_date <= d.trade_date
        and {{ known_at('v', 'd.decision_at') }}
    where v.index_symbol in ('VIX', 'SKEW')
),

percentiles as (
    select
        t.trade_date,
        t.index_symbol,
        count(*) as obs_1y,
        avg(case when w.close_value <= t.close_value then 1.0 else 0.0 end) as pct_1y,
        max(w.known_from) as max_known_from
    from known_today as t
    inner join known_past_year as w
        on w.trade_date = t.trade_date
        and w.index_symbol = t.index_symbol
    group by t.trade_date, t.index_symbol
),

pivoted as (
    select
        trade_date,
        any_value(decision_at) as decision_at,
        max(case when index_symbol = 'VIX' then close_value end) as vix,
        max(case when index_symbol = 'VIX3M' then close_value end) as vix3m,
        max(case when index_symbol = 'VIX9D' then close_value end) as vix9d,
        max(case when index_symbol = 'SKEW' then close_value end) as skew,
        max(known_from) as max_known_from_today
    from known_today
    group by trade_date
),

final as (
    select
        p.trade_date,
        p.vix,
        p.vix3m,
        p.vix9d,
        p.skew,
        p.vix / nullif(p.vix3m, 0) as vix_vix3m_ratio,
        p.vix9d / nullif(p.vix, 0) as vix9d_vix_ratio,
        case
            when p.vix3m is null then null
            when p.vix < p.vix3m then 'contango'
            when p.vix > p.vix3m then 'backwardation'
            else 'flat'
        end as term_structure_state,
        case when pv.obs_1y >= {{ var('min_obs_1y') }} then pv.pct_1y end as vix_pct_1y,
        case when ps.obs_1y >= {{ var('min_obs_1y') }} then ps.pct_1y end as skew_pct_1y,
        p.decision_at,
        greatest(p.max_known_from_today, coalesce(pv.max_known_from, p.max_known_from_today),
                 coalesce(ps.max_known_from, p.max_known_from_today)) as max_available_at_used,
        (select max(ingested_at) from closes) as source_ingested_through
    from pivoted as p
    left join percentiles as pv on pv.trade_date = p.trade_date and pv.index_symbol = 'VIX'
    left join percentiles as ps on ps.trade_date = p.trade_date and ps.index_symbol = 'SKEW'
)

select * from final
order by trade_date
