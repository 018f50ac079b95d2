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
    watermark as (
        select max(source_ingested_through) as ingested_through from {{ this }}
    ),

    rebuild as (
        select min(closes.observed_date) as from_date
        from closes
        cross join watermark
        -- ten minutes of margin: rows stamped before the watermark but committed after the last build read silver
        -- (two ingests of Cboe at once) are still picked up
        where closes.ingested_at > watermark.ingested_through - interval 10 minute
    ),
{% endif %}

trading_days as (
    select distinct
        observed_date as trade_date,
        {{ decision_at('observed_date') }} as decision_at
    from versions
    where
        index_symbol = 'VIX'
        {% if is_incremental() %}
            and observed_date >= (select rebuild.from_date from rebuild)
        {% endif %}
),

known_today as (
    select
        trading_days.trade_date,
        trading_days.decision_at,
        versions.index_symbol,
        versions.close_value,
        versions.known_from
    from trading_days
    inner join versions
        on
            trading_days.trade_date = versions.observed_date
            and {{ known_at('versions', 'trading_days.decision_at') }}
),

known_past_year as (
    select
        trading_days.trade_date,
        versions.index_symbol,
        versions.close_value,
        versions.known_from
    from trading_days
    inner join versions
        on
            trading_days.trade_date - interval 365 day < versions.observed_date
            and trading_days.trade_date >= versions.observed_date
            and {{ known_at('versions', 'trading_days.decision_at') }}
    where versions.index_symbol in ('VIX', 'SKEW')
),

percentiles as (
    select
        known_today.trade_date,
        known_today.index_symbol,
        count(*) as obs_1y,
        avg(case when known_past_year.close_value <= known_today.close_value then 1.0 else 0.0 end) as pct_1y,
        max(known_past_year.known_from) as max_known_from
    from known_today
    inner join known_past_year
        on
            known_today.trade_date = known_past_year.trade_date
            and known_today.index_symbol = known_past_year.index_symbol
    group by 1, 2
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
    group by 1
),

final as (
    select
        pivoted.trade_date,
        pivoted.vix,
        pivoted.vix3m,
        pivoted.vix9d,
        pivoted.skew,
        pivoted.vix / nullif(pivoted.vix3m, 0) as vix_vix3m_ratio,
        pivoted.vix9d / nullif(pivoted.vix, 0) as vix9d_vix_ratio,
        case
            when pivoted.vix3m is null then null
            when pivoted.vix < pivoted.vix3m then 'contango'
            when pivoted.vix > pivoted.vix3m then 'backwardation'
            else 'flat'
        end as term_structure_state,
        case when vix_percentiles.obs_1y >= {{ var('min_obs_1y') }} then vix_percentiles.pct_1y end as vix_pct_1y,
        case when skew_percentiles.obs_1y >= {{ var('min_obs_1y') }} then skew_percentiles.pct_1y end as skew_pct_1y,
        pivoted.decision_at,
        greatest(
            pivoted.max_known_from_today, coalesce(vix_percentiles.max_known_from, pivoted.max_known_from_today),
            coalesce(skew_percentiles.max_known_from, pivoted.max_known_from_today)
        ) as max_available_at_used,
        (select max(closes.ingested_at) as ingested_through from closes) as source_ingested_through
    from pivoted
    left join percentiles as vix_percentiles
        on pivoted.trade_date = vix_percentiles.trade_date and vix_percentiles.index_symbol = 'VIX'
    left join percentiles as skew_percentiles
        on pivoted.trade_date = skew_percentiles.trade_date and skew_percentiles.index_symbol = 'SKEW'
)

select * from final
order by 1
