{#-
    None of the given columns holds a null: dbt's not_null for many columns of one model in a
    single scan (one query and one Dagster check per model instead of one per column). It
    returns a row per column that holds nulls, with its name and how many rows, so a failure
    names the columns; no rows is a pass. Plain SQL (a CASE per column over one aggregate row),
    so every target runs it.
-#}
{% test columns_not_null(model, columns) %}

with null_counts as (
    select
    {%- for column in columns %}
        sum(case when {{ column }} is null then 1 else 0 end) as null_rows_{{ loop.index }}
        {{- ',' if not loop.last }}
    {%- endfor %}
    from {{ model }}
),

tested as (
    {%- for column in columns %}
    select '{{ column }}' as column_name{{ ' union all' if not loop.last }}
    {%- endfor %}
)

select column_name, null_rows
from (
    select
        tested.column_name,
        case tested.column_name
        {%- for column in columns %}
            when '{{ column }}' then null_counts.null_rows_{{ loop.index }}
        {%- endfor %}
        end as null_rows
    from tested
    cross join null_counts
) as per_column
where null_rows > 0

{% endtest %}
