{#- on-run-start: create every source schema up front. dbt-duckdb's delta plugin creates a source's schema when a
    model first reads it; two models of one source starting together on a fresh database then race
    ("Catalog write-write conflict on create with src_..."). -#}
{% macro create_source_schemas() %}
    {% if execute %}
        {% set schemas = [] %}
        {% for node in graph.sources.values() %}
            {% if node.schema not in schemas %}{% do schemas.append(node.schema) %}{% endif %}
        {% endfor %}
        {% for schema in schemas %}
            {% do run_query("create schema if not exists " ~ adapter.quote(schema)) %}
        {% endfor %}
    {% endif %}
{% endmacro %}
