{#-
    Regular expressions, whose function names and flags differ between engines.

    regexp_full_match(expr, pattern): true when the whole of expr matches pattern.
    regexp_replace_all(expr, pattern, replacement): every match replaced.
-#}

{% macro regexp_full_match(expr, pattern) -%}
    {{ return(adapter.dispatch('regexp_full_match', 'fjordbank')(expr, pattern)) }}
{%- endmacro %}

{% macro duckdb__regexp_full_match(expr, pattern) -%}
    regexp_full_match({{ expr }}, '{{ pattern }}')
{%- endmacro %}

{#- Spark's string literals treat a backslash as an escape: double it so the regex sees it. -#}
{% macro _spark_regex_literal(pattern) -%}
    '{{ pattern | replace('\\', '\\\\') | replace("'", "\\'") }}'
{%- endmacro %}

{% macro spark__regexp_full_match(expr, pattern) -%}
    ({{ expr }} rlike {{ fjordbank._spark_regex_literal('^(?:' ~ pattern ~ ')$') }})
{%- endmacro %}

{% macro default__regexp_full_match(expr, pattern) -%}
    regexp_like({{ expr }}, '^(?:{{ pattern }})$')
{%- endmacro %}


{% macro regexp_replace_all(expr, pattern, replacement) -%}
    {{ return(adapter.dispatch('regexp_replace_all', 'fjordbank')(expr, pattern, replacement)) }}
{%- endmacro %}

{% macro duckdb__regexp_replace_all(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}

{# Spark's regexp_replace replaces every match. #}
{% macro spark__regexp_replace_all(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, {{ fjordbank._spark_regex_literal(pattern) }}, {{ fjordbank._spark_regex_literal(replacement) }})
{%- endmacro %}

{% macro default__regexp_replace_all(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, '{{ pattern }}', '{{ replacement }}')
{%- endmacro %}
