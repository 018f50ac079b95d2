{#- Generic tests written here because dbt packages cannot be downloaded on these machines. -#}

{% test unique_combination_of_columns(model, combination_of_columns) %}
    select {{ combination_of_columns | join(', ') }}, count(*) as n
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1
{% endtest %}

{% test column_contract(model, not_null=[], ranges=[]) %}
    {#- A model's per-column rules in one query instead of one dbt test per column: each dbt test costs ~20 ms of
        dbt overhead against ~1 ms of DuckDB, and the marts carry ~200 such rules. One row per broken rule, naming
        it; the test fails on the total of failing rows (store failures to see them).
        not_null: [column, ...]; ranges: [{column, min?, max?, where?}, ...] (bounds inclusive, nulls pass). -#}
    {{ config(fail_calc="coalesce(sum(failing_rows), 0)") }}
    {%- set rules = [] -%}
    {%- for column in not_null -%}
        {%- do rules.append((column ~ " is null", column ~ " is null")) -%}
    {%- endfor -%}
    {%- for r in ranges -%}
        {%- set bounds = [] -%}
        {%- if r.get("min") is not none %}{% do bounds.append(r["column"] ~ " < " ~ r["min"]) %}{% endif -%}
        {%- if r.get("max") is not none %}{% do bounds.append(r["column"] ~ " > " ~ r["max"]) %}{% endif -%}
        {%- set label = r["column"] ~ " outside [" ~ r.get("min", "-inf") ~ ", " ~ r.get("max", "inf") ~ "]"
            ~ (" where " ~ r["where"] if r.get("where") else "") -%}
        {%- set condition = r["column"] ~ " is not null and (" ~ (bounds | join(" or ")) ~ ")"
            ~ (" and (" ~ r["where"] ~ ")" if r.get("where") else "") -%}
        {%- do rules.append((label, condition)) -%}
    {%- endfor %}
    with counts as (
        select
        {%- for label, condition in rules %}
            count(*) filter (where {{ condition }}) as "{{ label | replace('"', "'") }}"{{ "," if not loop.last }}
        {%- endfor %}
        from {{ model }}
    )
    select rule, failing_rows
    from (unpivot counts on columns(*) into name rule value failing_rows)
    where failing_rows > 0
{% endtest %}

{% test not_after_decision_time(model, column_name, date_column) %}
    {#- Point-in-time guard: no fact used by a row became available after the row's decision time. -#}
    select {{ date_column }}, {{ column_name }}
    from {{ model }}
    where {{ column_name }} > {{ decision_at(date_column) }}
{% endtest %}
