{#-
    None of the given columns holds a null: dbt's not_null for many columns of one model in a
    single scan (one query and one Dagster check per model instead of one per column). It
    returns a row per column that holds nulls, with its name and how many rows, so a failure
    names the columns; no rows is a pass (macros/testing/per_column_failures.sql).
-#}
{% test columns_not_null(model, columns) %}

{%- set measures = {} %}
{%- for column in columns %}
    {%- do measures.update({column: {
        "null_rows": "sum(case when " ~ column ~ " is null then 1 else 0 end)"
    }}) %}
{%- endfor %}
{{ per_column_failures(model, measures, "null_rows") }}

{% endtest %}
