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
        m.trade_date,
        m.vix,
        v.close_value as vix_known
    from mart as m
    inner join versions as v
        on v.index_symbol = 'VIX'
        and v.observed_date = m.trade_date
        and v.known_from <= m.decision_at
        and (v.known_until is null or v.known_until > m.decision_at)
)

select * from expected
where vix is distinct from vix_known
   or vix_known is null
