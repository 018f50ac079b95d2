{#- Singular test: every VIX value in the mart is the version that was public at the row's decision time. -#}
with

mart as (
    select * from {{ ref('fct_vol_term_structure_daily') }}
),

versions as (
    select * from {{ ref('int_cboe__index_closes_versioned') }}
),

expected as (
    select
        mart.trade_date,
        mart.vix,
        versions.close_value as vix_known
    from mart
    inner join versions
        on
            versions.index_symbol = 'VIX'
            and mart.trade_date = versions.observed_date
            and mart.decision_at >= versions.known_from
            and (versions.known_until is null or mart.decision_at < versions.known_until)
)

select * from expected
where
    vix is distinct from vix_known
    or vix_known is null
