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

legacy_positions as (
    select * from {{ ref('stg_cot__legacy_positions') }}
    where futures_only = {{ futures_only }}
),

tff_positions as (
    select * from {{ ref('stg_cot__tff_positions') }}
    where futures_only = {{ futures_only }}
),

disaggregated_positions as (
    select * from {{ ref('stg_cot__disaggregated_positions') }}
    where futures_only = {{ futures_only }}
),

speculator_versions as (
    select
        tff_positions.market_code,
        tff_positions.report_date,
        tff_positions.version,
        tff_positions.available_at,
        (tff_positions.leveraged_funds_long - tff_positions.leveraged_funds_short) / tff_positions.open_interest
            as speculator_net_share
    from tff_positions
    inner join markets
        on tff_positions.market_code = markets.cftc_contract_market_code and markets.cot_report = 'tff'
    union all
    select
        disaggregated_positions.market_code,
        disaggregated_positions.report_date,
        disaggregated_positions.version,
        disaggregated_positions.available_at,
        (disaggregated_positions.managed_money_long - disaggregated_positions.managed_money_short)
        / disaggregated_positions.open_interest as speculator_net_share
    from disaggregated_positions
    inner join markets
        on
            disaggregated_positions.market_code = markets.cftc_contract_market_code
            and markets.cot_report = 'disaggregated'
),

legacy_first as (
    select
        market_code,
        report_date,
        min(available_at) as first_at
    from legacy_positions
    group by 1, 2
),

category_first as (
    select
        market_code,
        report_date,
        min(available_at) as first_at
    from speculator_versions
    group by 1, 2
),

first_release as (
    select
        coalesce(legacy_first.market_code, category_first.market_code) as market_code,
        coalesce(legacy_first.report_date, category_first.report_date) as report_date,
        greatest(legacy_first.first_at, category_first.first_at) as released_at
    from legacy_first
    full outer join category_first
        on
            legacy_first.market_code = category_first.market_code
            and legacy_first.report_date = category_first.report_date
    where
        coalesce(legacy_first.market_code, category_first.market_code)
        in (select markets.cftc_contract_market_code from markets)
),

own_value as (
    select
        weekly.cftc_contract_market_code,
        weekly.report_date,
        weekly.available_at,
        weekly.speculator_net_share,
        first_release.released_at,
        speculator_versions.speculator_net_share as expected_share
    from weekly
    left join first_release
        on
            weekly.cftc_contract_market_code = first_release.market_code
            and weekly.report_date = first_release.report_date
    left join speculator_versions
        on
            weekly.cftc_contract_market_code = speculator_versions.market_code
            and weekly.report_date = speculator_versions.report_date
            and weekly.available_at >= speculator_versions.available_at
    qualify row_number() over (
        partition by weekly.cftc_contract_market_code, weekly.report_date
        order by speculator_versions.version desc nulls last
    ) = 1
),

own_value_failures as (
    select
        'weekly own value' as failure,
        cftc_contract_market_code,
        report_date as on_date
    from own_value
    where
        available_at is distinct from released_at
        or abs(speculator_net_share - expected_share) > 1e-12
        or (speculator_net_share is null) <> (expected_share is null)
),

report_numbers as (
    select
        market_code,
        report_date,
        row_number() over (partition by market_code order by report_date) as report_number
    from first_release
),

sampled as (
    select
        weekly.*,
        report_numbers.report_number
    from weekly
    inner join report_numbers
        on
            weekly.cftc_contract_market_code = report_numbers.market_code
            and weekly.report_date = report_numbers.report_date
    where (weekly.report_date - date '2000-01-04') // 7 % 8 = 0
),

window_values as (
    select
        sampled.cftc_contract_market_code,
        sampled.report_date as vintage_date,
        sampled.speculator_z52,
        sampled.speculator_net_share,
        report_numbers.report_date,
        speculator_versions.speculator_net_share as window_share
    from sampled
    inner join report_numbers
        on
            sampled.cftc_contract_market_code = report_numbers.market_code
            and report_numbers.report_number between sampled.report_number - 51 and sampled.report_number
    left join speculator_versions
        on
            report_numbers.market_code = speculator_versions.market_code
            and report_numbers.report_date = speculator_versions.report_date
            and sampled.available_at >= speculator_versions.available_at
    qualify row_number() over (
        partition by sampled.cftc_contract_market_code, sampled.report_date, report_numbers.report_date
        order by speculator_versions.version desc nulls last
    ) = 1
),

brute_force as (
    select
        cftc_contract_market_code,
        vintage_date,
        any_value(speculator_z52) as speculator_z52,
        (any_value(speculator_net_share) - avg(window_share)) / stddev_samp(window_share) as expected_z,
        count(window_share) as window_reports
    from window_values
    group by 1, 2
),

window_failures as (
    select
        'weekly z-score' as failure,
        cftc_contract_market_code,
        vintage_date as on_date
    from brute_force
    where
        (window_reports >= 40 and abs(speculator_z52 - expected_z) > 1e-9)
        or (window_reports < 40 and speculator_z52 is not null)
),

daily_sample as (
    select * from daily
    where (trade_date - date '2000-01-03') % 7 = 0
),

expected_report as (
    select
        daily_sample.cftc_contract_market_code,
        daily_sample.trade_date,
        daily_sample.report_date,
        max(first_release.report_date) as expected_report_date
    from daily_sample
    left join first_release
        on
            daily_sample.cftc_contract_market_code = first_release.market_code
            and daily_sample.decision_at >= first_release.released_at
            and first_release.report_date > daily_sample.trade_date - 120
    group by 1, 2, 3
),

daily_failures as (
    select
        'daily report' as failure,
        cftc_contract_market_code,
        trade_date as on_date
    from expected_report
    where
        report_date is distinct from expected_report_date
        and trade_date - report_date < 120
)

select * from own_value_failures
union all
select * from window_failures
union all
select * from daily_failures
