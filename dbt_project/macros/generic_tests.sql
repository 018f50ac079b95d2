{#- Generic tests written here because dbt packages cannot be downloaded on these machines. -#}

{% test unique_combination_of_columns(model, combination_of_columns) %}
    select {{ combination_of_columns | join(', ') }}, count(*) as n
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1
{% endtest %}

{% test accepted_range(model, column_name, min_value=none, max_value=none, where=none) %}
    select {{ column_name }}
    from {{ model }}
    where {{ column_name }} is not null
      {% if where %}and ({{ where }}){% endif %}
      and (
        false
        {% if min_value is not none %} or {{ column_name }} < {{ min_value }}{% endif %}
        {% if max_value is not none %} or {{ column_name }} > {{ max_value }}{% endif %}
      )
{% endtest %}

{% test not_after_decision_time(model, column_name, date_column) %}
    {#- Point-in-time guard: no fact used by a row became available after the row's decision time. -#}
    select {{ date_column }}, {{ column_name }}
    from {{ model }}
    where {{ column_name }} > {{ decision_at(date_column) }}
{% endtest %}
