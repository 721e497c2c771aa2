{#-
    Each given column holds only its accepted values: dbt's accepted_values for many columns of
    one model in a single scan (one query and one Dagster check per model instead of one per
    column). `columns` maps each column to its accepted values; `quote` (default true, as
    accepted_values) quotes them as strings. A null is accepted, as accepted_values accepts it.
    It returns a row per column holding other values, with its name, how many rows and the
    least such value, so a failure names the columns; no rows is a pass. Plain SQL (a CASE per
    column over one aggregate row), so every target runs it.
-#}
{% test columns_accepted_values(model, columns, quote=true) %}

{%- if columns is not mapping or not columns
    or columns.values() | reject('iterable') | list
    or columns.values() | select('string') | list
    or not columns.values() | map('length') | min %}
    {{ exceptions.raise_compiler_error(
        "columns_accepted_values: `columns` must map each column to a non-empty list of its "
        ~ "accepted values, e.g. {status: [open, closed]}"
    ) }}
{%- endif %}

with other_values as (
    select
    {%- for column, values in columns.items() %}
        {%- set accepted -%}
            {%- for value in values -%}
                {{ "'" ~ (value | string | replace("'", "''")) ~ "'" if quote else value }}{{ ', ' if not loop.last }}
            {%- endfor -%}
        {%- endset %}
        sum(case when {{ column }} not in ({{ accepted }}) then 1 else 0 end)
            as other_rows_{{ loop.index }},
        min(case when {{ column }} not in ({{ accepted }})
            then cast({{ column }} as {{ dbt.type_string() }}) end) as least_other_{{ loop.index }}
        {{- ',' if not loop.last }}
    {%- endfor %}
    from {{ model }}
),

tested as (
    {%- for column in columns %}
    select '{{ column }}' as column_name{{ ' union all' if not loop.last }}
    {%- endfor %}
)

select column_name, other_rows, least_other_value
from (
    select
        tested.column_name,
        case tested.column_name
        {%- for column in columns %}
            when '{{ column }}' then other_values.other_rows_{{ loop.index }}
        {%- endfor %}
        end as other_rows,
        case tested.column_name
        {%- for column in columns %}
            when '{{ column }}' then other_values.least_other_{{ loop.index }}
        {%- endfor %}
        end as least_other_value
    from tested
    cross join other_values
) as per_column
where other_rows > 0

{% endtest %}
