{#-
    Rolling statistics over a trailing window of rows, for point-in-time features.

    Use them on a real-time series (one row per date with the value known at that date, see realtime_values):
    every statistic then only reads values that were known at the row's decision time. The window is the current
    row and the (window_rows - 1) rows before it within `partition_by`, ordered by `order_by`; fewer than
    `min_rows` non-null values gives null instead of a statistic from too little history.

    Example: {{ rolling_zscore('net_share', 'market_code', 'report_date', 52, 26) }} as net_share_z52
-#}

{% macro _trailing_window(partition_by, order_by, window_rows) -%}
    (partition by {{ partition_by }} order by {{ order_by }} rows between {{ window_rows - 1 }} preceding and current row)
{%- endmacro %}

{% macro rolling_count(value, partition_by, order_by, window_rows) -%}
    count({{ value }}) over {{ _trailing_window(partition_by, order_by, window_rows) }}
{%- endmacro %}

{#- The window's values as a list in row order. Means and deviations are aggregated over it (list_avg,
    list_stddev_samp) rather than by the window aggregates, whose summation order depends on how many rows the
    partition holds (segment trees, threads): a statistic then depends only on its window's values, so a build
    over a history cut after any date gives bit-identical figures for every row dated before the cut. -#}
{% macro _window_values(value, partition_by, order_by, window_rows) -%}
    list({{ value }}) over {{ _trailing_window(partition_by, order_by, window_rows) }}
{%- endmacro %}

{#- (value - mean) / sample standard deviation over the window, current row included. -#}
{% macro rolling_zscore(value, partition_by, order_by, window_rows, min_rows) -%}
    case
        when {{ rolling_count(value, partition_by, order_by, window_rows) }} >= {{ min_rows }}
            then ({{ value }} - list_avg({{ _window_values(value, partition_by, order_by, window_rows) }}))
                / nullif(list_stddev_samp({{ _window_values(value, partition_by, order_by, window_rows) }}), 0)
    end
{%- endmacro %}

{#- Share of the window's values at or below the current value, in [0, 1] (the current row counts). -#}
{% macro rolling_percentile(value, partition_by, order_by, window_rows, min_rows) -%}
    case
        when {{ value }} is not null
            and {{ rolling_count(value, partition_by, order_by, window_rows) }} >= {{ min_rows }}
            then len(list_filter(
                    list({{ value }}) over {{ _trailing_window(partition_by, order_by, window_rows) }},
                    lambda x: x <= {{ value }}
                 ))::double
                / {{ rolling_count(value, partition_by, order_by, window_rows) }}
    end
{%- endmacro %}

{#- Where the value sits between the window's min (0) and max (100): the COT index. -#}
{% macro rolling_range_index(value, partition_by, order_by, window_rows, min_rows) -%}
    case
        when {{ rolling_count(value, partition_by, order_by, window_rows) }} >= {{ min_rows }}
            then 100.0 * (
                ({{ value }} - min({{ value }}) over {{ _trailing_window(partition_by, order_by, window_rows) }})
                / nullif(
                    max({{ value }}) over {{ _trailing_window(partition_by, order_by, window_rows) }}
                    - min({{ value }}) over {{ _trailing_window(partition_by, order_by, window_rows) }},
                    0
                )
            )
    end
{%- endmacro %}

{#- Mean over the window. -#}
{% macro rolling_mean(value, partition_by, order_by, window_rows, min_rows) -%}
    case
        when {{ rolling_count(value, partition_by, order_by, window_rows) }} >= {{ min_rows }}
            then list_avg({{ _window_values(value, partition_by, order_by, window_rows) }})
    end
{%- endmacro %}

{#- Sample standard deviation over the window. -#}
{% macro rolling_std(value, partition_by, order_by, window_rows, min_rows) -%}
    case
        when {{ rolling_count(value, partition_by, order_by, window_rows) }} >= {{ min_rows }}
            then list_stddev_samp({{ _window_values(value, partition_by, order_by, window_rows) }})
    end
{%- endmacro %}
