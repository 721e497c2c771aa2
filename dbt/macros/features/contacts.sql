{#-
    Contact normalisation before hashing for customer matching: the platform computes the same
    hash only from the same normalised text.

    normalised_email(expr): trimmed and lower-cased.
    normalised_phone(expr): E.164 (+ and 7 to 15 digits): separators removed, a leading 00 becomes
    +, an 8-digit Norwegian number gets +47; anything else is NULL.
-#}

{% macro normalised_email(expr) -%}
    nullif(lower(trim({{ expr }})), '')
{%- endmacro %}

{% macro normalised_phone(expr) -%}
    {%- set compact = fjordbank.regexp_replace_all(expr, '[^0-9+]', '') -%}
    {%- set candidate -%}
        case
            when {{ compact }} like '+%' then {{ compact }}
            when {{ compact }} like '00%' then {{ dbt.concat(["'+'", 'substr(' ~ compact ~ ', 3)']) }}
            when length({{ compact }}) = 8 then {{ dbt.concat(["'+47'", compact]) }}
        end
    {%- endset -%}
    case
        when {{ fjordbank.regexp_full_match(candidate, '\+[1-9][0-9]{6,14}') }} then {{ candidate }}
    end
{%- endmacro %}
