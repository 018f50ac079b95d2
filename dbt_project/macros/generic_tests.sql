{#- Generic tests written here because dbt packages cannot be downloaded on these machines. -#}

{% test row_checks(model, unique=[], not_null=[], ranges=[], not_after_decision_time=[]) %}
    {#- A model's row rules in one query instead of one dbt test per rule: each dbt test costs ~20 ms of dbt's own
        overhead against ~1 ms of DuckDB, and the models carry ~260 such rules. One row per broken rule, naming
        it; the test fails on the total of failing rows (`dbt test --store-failures` keeps them as a table).
        unique: the key columns (no two rows share them); not_null: [column, ...];
        ranges: [{column, min?, max?, where?}, ...] (bounds inclusive, nulls pass);
        not_after_decision_time: [{column, date_column}, ...] (point-in-time guard: no fact a row uses became
        available after the row's decision time). -#}
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
    {%- endfor -%}
    {%- for r in not_after_decision_time -%}
        {%- do rules.append((r["column"] ~ " after the decision time of " ~ r["date_column"],
                             r["column"] ~ " > " ~ decision_at(r["date_column"]))) -%}
    {%- endfor %}
    with
    {% if rules %}
    counts as (
        select
        {%- for label, condition in rules %}
            count(*) filter (where {{ condition }}) as "{{ label | replace('"', "'") }}"{{ "," }}
        {%- endfor %}
            0 as _none
        from {{ model }}
    ),
    {% endif %}
    broken as (
        {% if rules %}
        select rule, failing_rows
        from (unpivot (select * exclude (_none) from counts) on columns(*) into name rule value failing_rows)
        {% else %}
        select null::varchar as rule, 0::bigint as failing_rows where false
        {% endif %}
        {% if unique %}
        union all
        select 'duplicate ({{ unique | join(", ") }})' as rule, count(*) as failing_rows
        from (
            select {{ unique | join(", ") }}
            from {{ model }}
            group by {{ unique | join(", ") }}
            having count(*) > 1
        )
        {% endif %}
    )
    select rule, failing_rows from broken where failing_rows > 0
{% endtest %}
