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

{#-
    realtime_values: for every row of `grid` (series key columns + trade_date + decision_at), the latest observation
    that had been published by decision_at, at the version that was known at decision_at.

    This is the "real-time series" every mart builds on: each day's value is exactly what an observer had at that
    day's decision time, so rolling statistics over it never read a revision published later, and truncating the
    data after any date T leaves every row dated <= T unchanged.

    versions: a staging relation with key columns, `date_column`, value columns, `version` and `available_at`.
    Returns grid columns plus `date_column` (the observation used), the value columns, `value_known_at` (when the
    version used became available) and `observation_age_days`.
-#}
{% macro realtime_values(versions, grid, key_columns, date_column, value_columns) -%}
    (
        with
        _versions as (
            -- one version per publication instant (the highest, should a payload repeat a key)
            select {{ key_columns | join(', ') }}, {{ date_column }}, {{ value_columns | join(', ') }},
                   version, available_at
            from {{ versions }}
            qualify row_number() over (
                partition by {{ key_columns | join(', ') }}, {{ date_column }}, available_at order by version desc
            ) = 1
        ),
        _first_published_all as (
            select {{ key_columns | join(', ') }}, {{ date_column }}, min(available_at) as first_known_at
            from _versions
            group by {{ key_columns | join(', ') }}, {{ date_column }}
        ),
        _first_published as (
            -- only observations that were the latest when first published: when a batch publishes several days
            -- at one instant (FRED H.10, EIA's weekly price refresh) the ASOF join must pick the latest day, not
            -- an arbitrary one; whether a day is kept depends only on days published no later than it
            select * from _first_published_all
            qualify {{ date_column }} = max({{ date_column }}) over (
                partition by {{ key_columns | join(', ') }} order by first_known_at
                range between unbounded preceding and current row
            )
        ),
        _latest_observation as (
            select grid_rows.*, first_published.{{ date_column }}
            from {{ grid }} as grid_rows
            asof left join _first_published as first_published
                on {% for k in key_columns %}first_published.{{ k }} = grid_rows.{{ k }} and {% endfor %}
                first_published.first_known_at <= grid_rows.decision_at
        )
        select
            latest_observation.*,
            {% for c in value_columns %}known_version.{{ c }},{% endfor %}
            known_version.available_at as value_known_at,
            datediff('day', latest_observation.{{ date_column }}, latest_observation.trade_date) as observation_age_days
        from _latest_observation as latest_observation
        asof left join _versions as known_version
            on {% for k in key_columns %}known_version.{{ k }} = latest_observation.{{ k }} and {% endfor %}
            known_version.{{ date_column }} = latest_observation.{{ date_column }}
            and known_version.available_at <= latest_observation.decision_at
    )
{%- endmacro %}

{#- A grid of (series keys x trading days of a calendar) with each day's decision time. -#}
{% macro trading_day_grid(series_relation, calendar) -%}
    (
        select series_keys.*, calendar_days.trade_date, {{ decision_at('calendar_days.trade_date') }} as decision_at
        from {{ series_relation }} as series_keys
        cross join (
            select trade_date from {{ ref('stg_reference__trading_days') }} where calendar = '{{ calendar }}'
        ) as calendar_days
    )
{%- endmacro %}
