{#-
    Singular test, recomputed from the staging COT tables (not from the marts' intermediate models):
    1. every weekly row's available_at is its report's first publication, its speculator share is the version
       known then, and for every 8th report week the 52-report z-score equals a brute-force mean / sample std over
       the 52 latest reports, each at the version known at the row's release;
    2. on every 7th trading day, the daily row uses the latest report first published by decision_at.
    Returns the offending rows.
-#}
{%- set futures_only = var('cot_futures_only', true) %}
with

markets as (
    select * from {{ ref('stg_reference__cot_markets') }}
),

weekly as (
    select * from {{ ref('fct_cot_positioning_weekly') }}
),

daily as (
    select * from {{ ref('fct_cot_positioning_daily') }}
),

speculator_versions as (
    select t.market_code, t.report_date, t.version, t.available_at,
           (t.leveraged_funds_long - t.leveraged_funds_short) / t.open_interest as speculator_net_share
    from {{ ref('stg_cot__tff_positions') }} as t
    inner join markets as m on m.cftc_contract_market_code = t.market_code and m.cot_report = 'tff'
    where t.futures_only = {{ futures_only }}
    union all
    select d.market_code, d.report_date, d.version, d.available_at,
           (d.managed_money_long - d.managed_money_short) / d.open_interest
    from {{ ref('stg_cot__disaggregated_positions') }} as d
    inner join markets as m on m.cftc_contract_market_code = d.market_code and m.cot_report = 'disaggregated'
    where d.futures_only = {{ futures_only }}
),

legacy_first as (
    select market_code, report_date, min(available_at) as first_at
    from {{ ref('stg_cot__legacy_positions') }}
    where futures_only = {{ futures_only }}
    group by market_code, report_date
),

category_first as (
    select market_code, report_date, min(available_at) as first_at
    from speculator_versions
    group by market_code, report_date
),

first_release as (
    select
        coalesce(l.market_code, c.market_code) as market_code,
        coalesce(l.report_date, c.report_date) as report_date,
        greatest(l.first_at, c.first_at) as released_at
    from legacy_first as l
    full outer join category_first as c on c.market_code = l.market_code and c.report_date = l.report_date
    where coalesce(l.market_code, c.market_code) in (select cftc_contract_market_code from markets)
),

own_value as (
    select w.cftc_contract_market_code, w.report_date, w.available_at, w.speculator_net_share,
           r.released_at, v.speculator_net_share as expected_share
    from weekly as w
    left join first_release as r
        on r.market_code = w.cftc_contract_market_code and r.report_date = w.report_date
    left join speculator_versions as v
        on v.market_code = w.cftc_contract_market_code and v.report_date = w.report_date
        and v.available_at <= w.available_at
    qualify row_number() over (
        partition by w.cftc_contract_market_code, w.report_date order by v.version desc nulls last
    ) = 1
),

own_value_failures as (
    select 'weekly own value' as failure, cftc_contract_market_code, report_date as on_date
    from own_value
    where available_at is distinct from released_at
       or abs(speculator_net_share - expected_share) > 1e-12
       or (speculator_net_share is null) <> (expected_share is null)
),

report_numbers as (
    select market_code, report_date,
           row_number() over (partition by market_code order by report_date) as n
    from first_release
),

sampled as (
    select w.*, r.n
    from weekly as w
    inner join report_numbers as r on r.market_code = w.cftc_contract_market_code and r.report_date = w.report_date
    where (w.report_date - date '2000-01-04') // 7 % 8 = 0
),

window_values as (
    select s.cftc_contract_market_code, s.report_date as vintage_date, s.speculator_z52, s.speculator_net_share,
           r.report_date, v.speculator_net_share as value
    from sampled as s
    inner join report_numbers as r
        on r.market_code = s.cftc_contract_market_code and r.n between s.n - 51 and s.n
    left join speculator_versions as v
        on v.market_code = r.market_code and v.report_date = r.report_date and v.available_at <= s.available_at
    qualify row_number() over (
        partition by s.cftc_contract_market_code, s.report_date, r.report_date order by v.version desc nulls last
    ) = 1
),

brute_force as (
    select cftc_contract_market_code, vintage_date, any_value(speculator_z52) as speculator_z52,
           (any_value(speculator_net_share) - avg(value)) / stddev_samp(value) as expected_z,
           count(value) as n
    from window_values
    group by cftc_contract_market_code, vintage_date
),

window_failures as (
    select 'weekly z-score' as failure, cftc_contract_market_code, vintage_date as on_date
    from brute_force
    where (n >= 40 and abs(speculator_z52 - expected_z) > 1e-9)
       or (n < 40 and speculator_z52 is not null)
),

daily_sample as (
    select * from daily
    where (trade_date - date '2000-01-03') % 7 = 0
),

expected_report as (
    select d.cftc_contract_market_code, d.trade_date, d.report_date, max(r.report_date) as expected_report_date
    from daily_sample as d
    left join first_release as r
        on r.market_code = d.cftc_contract_market_code
        and r.released_at <= d.decision_at
        and r.report_date > d.trade_date - 120
    group by d.cftc_contract_market_code, d.trade_date, d.report_date
),

daily_failures as (
    select 'daily report' as failure, cftc_contract_market_code, trade_date as on_date
    from expected_report
    where report_date is distinct from expected_report_date
       and trade_date - report_date < 120
)

select * from own_value_failures
union all
select * from window_failures
union all
select * from daily_failures
