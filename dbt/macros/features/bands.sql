{#-
    Ranges instead of values: the marketing and model-development features carry bands, never
    amounts. Band labels start with their rank digit so that band_rank() can order and score them.
-#}

{# Amount in NOK -> '0_none' .. '4_1m_plus'; NULL stays NULL. #}
{% macro amount_band(expr) -%}
    case
        when {{ expr }} is null then null
        when {{ expr }} <= 0 then '0_none'
        when {{ expr }} < 10000 then '1_under_10k'
        when {{ expr }} < 100000 then '2_10k_to_100k'
        when {{ expr }} < 1000000 then '3_100k_to_1m'
        else '4_1m_plus'
    end
{%- endmacro %}

{% macro amount_band_values() -%}
    {{ return(['0_none', '1_under_10k', '2_10k_to_100k', '3_100k_to_1m', '4_1m_plus']) }}
{%- endmacro %}

{# A count of events in a period -> '0_none' .. '3_20_plus'; NULL stays NULL. #}
{% macro count_band(expr) -%}
    case
        when {{ expr }} is null then null
        when {{ expr }} <= 0 then '0_none'
        when {{ expr }} < 5 then '1_1_to_4'
        when {{ expr }} < 20 then '2_5_to_19'
        else '3_20_plus'
    end
{%- endmacro %}

{% macro count_band_values() -%}
    {{ return(['0_none', '1_1_to_4', '2_5_to_19', '3_20_plus']) }}
{%- endmacro %}

{# Logins in the last 30 days -> how often the customer uses the online bank and apps. #}
{% macro login_frequency(expr) -%}
    case
        when {{ expr }} is null or {{ expr }} <= 0 then '0_none'
        when {{ expr }} < 4 then '1_monthly'
        when {{ expr }} < 16 then '2_weekly'
        else '3_daily'
    end
{%- endmacro %}

{% macro login_frequency_values() -%}
    {{ return(['0_none', '1_monthly', '2_weekly', '3_daily']) }}
{%- endmacro %}

{# The rank digit of a band label (0 for NULL). #}
{% macro band_rank(expr) -%}
    coalesce({{ dbt.safe_cast('substr(' ~ expr ~ ', 1, 1)', 'integer') }}, 0)
{%- endmacro %}

{# Age in years -> age group. #}
{% macro age_group(age) -%}
    case
        when {{ age }} is null then null
        when {{ age }} < 18 then 'under_18'
        when {{ age }} < 25 then '18_24'
        when {{ age }} < 35 then '25_34'
        when {{ age }} < 45 then '35_44'
        when {{ age }} < 55 then '45_54'
        when {{ age }} < 65 then '55_64'
        when {{ age }} < 75 then '65_74'
        else '75_plus'
    end
{%- endmacro %}

{% macro age_group_values() -%}
    {{ return(['under_18', '18_24', '25_34', '35_44', '45_54', '55_64', '65_74', '75_plus']) }}
{%- endmacro %}

{# The logistic function, for scores in (0, 1). #}
{% macro logistic(expr) -%}
    (1.0 / (1.0 + exp(-({{ expr }}))))
{%- endmacro %}
