{#-
    Every instrument's price observations, every version, in one shape, from the source dim_instruments names.
    FRED: each vintage (realtime_start) is a version; null values ('.' on holidays) are dropped so that a
    holiday never becomes the latest price. Should two versions of one observation claim the same available_at,
    the later one (by vintage, then source version) is kept, so "the version known at t" is always unique:
    realtime_values picks it with an ASOF join on available_at, which breaks ties arbitrarily.
-#}
with

instruments as (
    select * from {{ ref('dim_instruments') }}
),

fred as (
    select * from {{ ref('stg_fred__observations') }}
),

eia as (
    select * from {{ ref('stg_eia__daily_prices') }}
),

cboe as (
    select * from {{ ref('stg_cboe__index_closes') }}
),

coinmetrics as (
    select * from {{ ref('stg_coinmetrics__asset_metrics') }}
),

fred_prices as (
    select
        i.symbol,
        f.observation_date as observed_date,
        f.observation_value as close,
        f.available_at,
        f.realtime_start,
        f.version as source_version
    from fred as f
    inner join instruments as i
        on i.price_source = 'fred'
        and i.price_series = f.series_id
    where f.observation_value is not null
),

eia_prices as (
    select
        i.symbol,
        e.price_date as observed_date,
        e.price as close,
        e.available_at,
        null::date as realtime_start,
        e.version as source_version
    from eia as e
    inner join instruments as i
        on i.price_source = 'eia'
        and i.price_series = e.series_id
    where e.price is not null
),

cboe_prices as (
    select
        i.symbol,
        c.observed_date,
        c.close_value as close,
        c.available_at,
        null::date as realtime_start,
        c.version as source_version
    from cboe as c
    inner join instruments as i
        on i.price_source = 'cboe'
        and i.price_series = c.index_symbol
),

coinmetrics_prices as (
    select
        i.symbol,
        m.observed_date,
        m.metric_value as close,
        m.available_at,
        null::date as realtime_start,
        m.version as source_version
    from coinmetrics as m
    inner join instruments as i
        on i.price_source = 'coinmetrics'
        and i.price_series = m.asset
        and i.price_field = m.metric
),

unioned as (
    select * from fred_prices
    union all
    select * from eia_prices
    union all
    select * from cboe_prices
    union all
    select * from coinmetrics_prices
),

one_per_instant as (
    select *
    from unioned
    qualify row_number() over (
        partition by symbol, observed_date, available_at
        order by realtime_start desc nulls last, source_version desc
    ) = 1
),

final as (
    select
        symbol,
        observed_date,
        close,
        available_at,
        realtime_start,
        source_version,
        row_number() over (
            partition by symbol, observed_date order by available_at, realtime_start, source_version
        ) as version,
        row_number() over (
            partition by symbol, observed_date order by available_at desc, realtime_start desc, source_version desc
        ) = 1 as is_final
    from one_per_instant
)

select * from final
