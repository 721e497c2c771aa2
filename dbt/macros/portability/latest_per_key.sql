{#-
    latest_per_key(relation, key_columns, order_by): the rows of relation (a CTE or relation
    name) that come first per key in order_by; by default the latest delivery of each key.

    A ranking subquery rather than `qualify`, which not every engine has. The result carries the
    extra column _delivery_rank (always 1); select explicit columns from it.
-#}

{% macro latest_per_key(
    relation,
    key_columns,
    order_by='_delivery_date desc, _source_file desc, _source_line desc'
) -%}
    {{ return(adapter.dispatch('latest_per_key', 'fjordbank')(relation, key_columns, order_by)) }}
{%- endmacro %}

{% macro default__latest_per_key(relation, key_columns, order_by) -%}
    select *
    from (
        select
            {{ relation }}.*,
            row_number() over (
                partition by {{ key_columns | join(', ') }}
                order by {{ order_by }}
            ) as _delivery_rank
        from {{ relation }}
    ) as ranked
    where _delivery_rank = 1
{%- endmacro %}
