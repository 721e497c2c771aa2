{#-
    Norwegian national identity numbers (fødselsnummer, D-number) in SQL, per LANDING.md and
    catalog/national_id.py (the two must agree; the dbt build test checks it).

    national_id_is_valid(nid): 11 digits whose two mod-11 check digits are right.
    national_id_birth_date(nid): the birth date the number encodes (D-number +40 on the day and
    synthetic +80 on the month removed; century from the individual number).
-#}

{% macro _national_id_digit(nid, position) -%}
    {{ dbt.safe_cast('substr(' ~ nid ~ ', ' ~ position ~ ', 1)', 'integer') }}
{%- endmacro %}

{% macro _national_id_check_digit(nid, weights) -%}
    ((11 - ((
        {%- for w in weights %}
        {{ w }} * {{ fjordbank._national_id_digit(nid, loop.index) }}{% if not loop.last %} +{% endif %}
        {%- endfor %}
    ) % 11)) % 11)
{%- endmacro %}

{% macro national_id_is_valid(nid) -%}
    coalesce(
        {{ fjordbank.regexp_full_match(nid, '[0-9]{11}') }}
        and {{ fjordbank._national_id_check_digit(nid, [3, 7, 6, 1, 8, 9, 4, 5, 2]) }}
            = {{ fjordbank._national_id_digit(nid, 10) }}
        and {{ fjordbank._national_id_check_digit(nid, [5, 4, 3, 2, 7, 6, 5, 4, 3, 2]) }}
            = {{ fjordbank._national_id_digit(nid, 11) }},
        false
    )
{%- endmacro %}

{% macro national_id_birth_date(nid) -%}
    {%- set day = dbt.safe_cast('substr(' ~ nid ~ ', 1, 2)', 'integer') -%}
    {%- set month = dbt.safe_cast('substr(' ~ nid ~ ', 3, 2)', 'integer') -%}
    {%- set yy = dbt.safe_cast('substr(' ~ nid ~ ', 5, 2)', 'integer') -%}
    {%- set individual = dbt.safe_cast('substr(' ~ nid ~ ', 7, 3)', 'integer') -%}
    {{ fjordbank.make_date(
        'case
            when ' ~ individual ~ ' <= 499 then 1900 + ' ~ yy ~ '
            when ' ~ individual ~ ' <= 749 and ' ~ yy ~ ' >= 54 then 1800 + ' ~ yy ~ '
            when ' ~ individual ~ ' >= 900 and ' ~ yy ~ ' >= 40 then 1900 + ' ~ yy ~ '
            when ' ~ yy ~ ' <= 39 then 2000 + ' ~ yy ~ '
            else 1900 + ' ~ yy ~ '
        end',
        'case when ' ~ month ~ ' > 80 then ' ~ month ~ ' - 80 else ' ~ month ~ ' end',
        'case when ' ~ day ~ ' > 40 then ' ~ day ~ ' - 40 else ' ~ day ~ ' end'
    ) }}
{%- endmacro %}
