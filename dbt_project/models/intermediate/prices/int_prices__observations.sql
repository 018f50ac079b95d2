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
        instruments.symbol,
        fred.observation_date as observed_date,
        fred.observation_value as close,
        fred.available_at,
        fred.realtime_start,
        fred.version as source_version
    from fred
    inner join instruments
        on
            instruments.price_source = 'fred'
            and fred.series_id = instruments.price_series
    where fred.observation_value is not null
),

eia_prices as (
    select
        instruments.symbol,
        eia.price_date as observed_date,
        eia.price as close,
        eia.available_at,
        null::date as realtime_start,
        eia.version as source_version
    from eia
    inner join instruments
        on
            instruments.price_source = 'eia'
            and eia.series_id = instruments.price_series
    where eia.price is not null
),

cboe_prices as (
    select
        instruments.symbol,
        cboe.observed_date,
        cboe.close_value as close,
        cboe.available_at,
        null::date as realtime_start,
        cboe.version as source_version
    from cboe
    inner join instruments
        on
            instruments.price_source = 'cboe'
            and cboe.index_symbol = instruments.price_series
),

coinmetrics_prices as (
    select
        instruments.symbol,
        coinmetrics.observed_date,
        coinmetrics.metric_value as close,
        coinmetrics.available_at,
        null::date as realtime_start,
        coinmetrics.version as source_version
    from coinmetrics
    inner join instruments
        on
            instruments.price_source = 'coinmetrics'
            and coinmetrics.asset = instruments.price_series
            and coinmetrics.metric = instruments.price_field
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
