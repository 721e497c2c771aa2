{#-
    The body of a set-based column test (columns_not_null, columns_accepted_values): one scan
    of `model` computing, per column, the aggregate expressions in `measures` ({column:
    {measure: aggregate SQL}}, every column the same measures), then a row per column whose
    `failing` measure is above 0, named by `column_name`, with each measure as a column. No
    rows is a pass. Plain SQL (a CASE per column over one aggregate row), so every target runs
    it.
-#}
{% macro per_column_failures(model, measures, failing) %}
{%- set columns = measures.keys() | list %}
{%- set names = measures[columns[0]].keys() | list %}
with measured as (
    select
    {%- for column in columns %}
        {%- set outer = loop %}
        {%- for name in names %}
        {{ measures[column][name] }} as {{ name }}_{{ outer.index }}
        {{- ',' if not (outer.last and loop.last) }}
        {%- endfor %}
    {%- endfor %}
    from {{ model }}
),

tested as (
    {%- for column in columns %}
    select '{{ column }}' as column_name{{ ' union all' if not loop.last }}
    {%- endfor %}
)

select column_name, {{ names | join(', ') }}
from (
    select
        tested.column_name
    {%- for name in names %},
        case tested.column_name
        {%- for column in columns %}
            when '{{ column }}' then measured.{{ name }}_{{ loop.index }}
        {%- endfor %}
        end as {{ name }}
    {%- endfor %}
    from tested
    cross join measured
) as per_column
where {{ failing }} > 0
{% endmacro %}
