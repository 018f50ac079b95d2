{#-
    The lake's as-of date caps a model's last day: `as_of_cap('x')` is `least(x, as_of_date)` when the pipeline
    passes `--vars '{as_of_date: YYYY-MM-DD}'`, and `x` otherwise (no cap, so a build of one source still works).
    Models whose day grid runs ahead of the facts (EIA's two-week slack) use it, so no mart holds a row dated after
    the day the lake is as of.
-#}
{% macro as_of_cap(expr) -%}
    {%- set as_of = var('as_of_date', none) -%}
    {%- if as_of -%} least({{ expr }}, date '{{ as_of }}') {%- else -%} {{ expr }} {%- endif -%}
{%- endmacro %}
