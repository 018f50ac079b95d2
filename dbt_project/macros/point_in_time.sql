{#- Point-in-time helpers. The decision time of date D is D at var('decision_time_utc'), in UTC. -#}

{% macro decision_at(date_expr) -%}
    cast(cast({{ date_expr }} as timestamp) + cast('{{ var("decision_time_utc") }}' as interval) as timestamptz)
{%- endmacro %}

{#- True when a version row with [known_from, known_until) is the one known at timestamp `ts`. -#}
{% macro known_at(alias, ts) -%}
    ({{ alias }}.known_from <= {{ ts }} and ({{ alias }}.known_until is null or {{ alias }}.known_until > {{ ts }}))
{%- endmacro %}

{#- Turn a versioned staging relation into validity intervals: each version is known from its available_at
    until the next version's available_at. -#}
{% macro version_intervals(relation, key_columns) -%}
    select
        *,
        available_at as known_from,
        lead(available_at) over (partition by {{ key_columns | join(', ') }} order by version) as known_until
    from {{ relation }}
{%- endmacro %}
