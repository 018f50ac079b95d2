{#
  dbt source freshness judged at the publishers' now: `--vars '{nexus_freshness_now: <ISO instant>}'` replaces the
  database clock (the simulated publisher's clock in tests, NEXUS_END_DATE's decision time for a simulated lake);
  without it, dbt's own behaviour (the database's current timestamp).
#}
{% macro duckdb__collect_freshness(source, loaded_at_field, filter) %}
  {% set now = var('nexus_freshness_now', none) %}
  {% call statement('collect_freshness', fetch_result=True, auto_begin=False) -%}
    select
      max({{ loaded_at_field }}) as max_loaded_at,
      {% if now %}cast('{{ now }}' as timestamptz){% else %}{{ current_timestamp() }}{% endif %} as snapshotted_at
    from {{ source }}
    {% if filter %}
    where {{ filter }}
    {% endif %}
  {% endcall %}
  {{ return(load_result('collect_freshness')) }}
{% endmacro %}
