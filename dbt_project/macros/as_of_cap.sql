{#-
    The lake's as-of date caps a model's last day: `as_of_cap('x')` is `least(x, as_of_date)`, where as_of_date is
    the day the lake is as of (stg_reference__lake_as_of, written from the ingests' as-of dates before every build),
    or the `--vars '{as_of_date: YYYY-MM-DD}'` override. A lake with no as-of date is not capped, and the date comes
    from the lake itself, so a build of one source's models still works. Models whose day grid runs ahead of the
    facts (EIA's two-week slack, the COT forward fill) use it, so no mart holds a row dated after that day.
-#}
{% macro as_of_cap(expr) -%}
    {%- set as_of = var('as_of_date', none) -%}
    {%- if as_of -%}
        least({{ expr }}, date '{{ as_of }}')
    {%- else -%}
        least({{ expr }}, coalesce((select max(as_of_date) from {{ ref('stg_reference__lake_as_of') }}), {{ expr }}))
    {%- endif -%}
{%- endmacro %}
