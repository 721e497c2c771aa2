{#-
    Date helpers whose SQL differs between engines.

    make_date(year, month, day): a date from integer parts; NULL when they name no real date.
    age_in_years(birth_date, as_of): completed years of age on as_of (default: today).
-#}

{% macro make_date(year, month, day) -%}
    {{ return(adapter.dispatch('make_date', 'fjordbank')(year, month, day)) }}
{%- endmacro %}

{% macro duckdb__make_date(year, month, day) -%}
    try(make_date(cast({{ year }} as bigint), cast({{ month }} as bigint), cast({{ day }} as bigint)))
{%- endmacro %}

{# Spark: NULL for a date that does not exist (non-ANSI mode, which dbt-spark sets). #}
{% macro spark__make_date(year, month, day) -%}
    make_date(cast({{ year }} as int), cast({{ month }} as int), cast({{ day }} as int))
{%- endmacro %}

{% macro default__make_date(year, month, day) -%}
    make_date({{ year }}, {{ month }}, {{ day }})
{%- endmacro %}


{% macro age_in_years(birth_date, as_of='current_date') -%}
    {{ return(adapter.dispatch('age_in_years', 'fjordbank')(birth_date, as_of)) }}
{%- endmacro %}

{#- Spark: the same count as the default (calendar years, less one before the birthday), without
    dbt-spark's datediff, which works on timestamps. -#}
{% macro spark__age_in_years(birth_date, as_of) -%}
    (
        year({{ as_of }}) - year({{ birth_date }})
        - case
            when month({{ as_of }}) * 100 + day({{ as_of }})
                < month({{ birth_date }}) * 100 + day({{ birth_date }})
                then 1
            else 0
        end
    )
{%- endmacro %}

{% macro default__age_in_years(birth_date, as_of) -%}
    (
        {{ dbt.datediff(birth_date, as_of, 'year') }}
        - case
            when extract(month from {{ as_of }}) * 100 + extract(day from {{ as_of }})
                < extract(month from {{ birth_date }}) * 100 + extract(day from {{ birth_date }})
                then 1
            else 0
        end
    )
{%- endmacro %}
