{#-
    Pseudonyms and hashed contacts.

    keyed_hash(expr): hex HMAC-SHA256 of expr under the group's pseudonymisation key. The key is
    held by the warehouse (dbt-duckdb plugin dagster_project.warehouse_functions) and never appears
    in SQL. Used for person_id (from the validated national identity number) and for the
    model-development pseudonym (with its own key context).

    sha256_hex(expr): lower-case hex SHA-256, unkeyed: only for contact lists whose recipient must
    compute the same hash (social-platform customer matching).
-#}

{% macro keyed_hash(expr) -%}
    {{ return(adapter.dispatch('keyed_hash', 'fjordbank')(expr)) }}
{%- endmacro %}

{% macro duckdb__keyed_hash(expr) -%}
    fjordbank_hmac_sha256(cast({{ expr }} as {{ dbt.type_string() }}))
{%- endmacro %}

{#- Spark: a Python UDF the platform registers in its Spark session before dbt runs
    (dagster_project/spark.py); on a cluster, a permanent function of the same name. -#}
{% macro spark__keyed_hash(expr) -%}
    fjordbank_hmac_sha256(cast({{ expr }} as {{ dbt.type_string() }}))
{%- endmacro %}

{% macro default__keyed_hash(expr) -%}
    {{ exceptions.raise_compiler_error(
        "keyed_hash has no implementation for adapter '" ~ adapter.type()
        ~ "': add " ~ adapter.type() ~ "__keyed_hash to dbt/macros/privacy/keyed_hash.sql"
    ) }}
{%- endmacro %}


{% macro sha256_hex(expr) -%}
    {{ return(adapter.dispatch('sha256_hex', 'fjordbank')(expr)) }}
{%- endmacro %}

{% macro duckdb__sha256_hex(expr) -%}
    sha256(cast({{ expr }} as {{ dbt.type_string() }}))
{%- endmacro %}

{# Spark's sha2 is lower-case hex already. #}
{% macro spark__sha256_hex(expr) -%}
    sha2(cast({{ expr }} as {{ dbt.type_string() }}), 256)
{%- endmacro %}

{% macro default__sha256_hex(expr) -%}
    lower(sha2(cast({{ expr }} as {{ dbt.type_string() }}), 256))
{%- endmacro %}
