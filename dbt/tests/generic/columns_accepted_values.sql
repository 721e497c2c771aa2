{#-
    Each given column holds only its accepted values: dbt's accepted_values for many columns of
    one model in a single scan (one query and one Dagster check per model instead of one per
    column). `columns` maps each column to its accepted values; `quote` (default true, as
    accepted_values) quotes them as strings. A null is accepted, as accepted_values accepts it.
    It returns a row per column holding other values, with its name, how many rows and the
    least such value (as text), so a failure names the columns; no rows is a pass
    (macros/testing/per_column_failures.sql).
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
{%- set measures = {} %}
{%- for column, values in columns.items() %}
    {%- set accepted = [] %}
    {%- for value in values %}
        {%- do accepted.append("'" ~ (value | string | replace("'", "''")) ~ "'" if quote else value | string) %}
    {%- endfor %}
    {%- set other = column ~ " not in (" ~ accepted | join(", ") ~ ")" %}
    {%- do measures.update({column: {
        "other_rows": "sum(case when " ~ other ~ " then 1 else 0 end)",
        "least_other_value": "cast(min(case when " ~ other ~ " then " ~ column ~ " end) as "
            ~ dbt.type_string() ~ ")",
    }}) %}
{%- endfor %}
{{ per_column_failures(model, measures, "other_rows") }}

{% endtest %}
