{#-
    The incremental staging models on DuckDB: the event logs (page views, logins, consents,
    objections; append, or delete+insert on the event's key) and the latest delivery of each key
    of the other delivered tables (delete+insert on the table's key: a key delivered again
    replaces its row, a key not delivered again keeps it, as latest_per_key over every delivery
    gives). So a daily run stages the new deliveries only, however many days came before them;
    the models downstream read the staged tables.

    Two kinds stay views. The erasure requests: few rows. The tables under a legal hold
    (catalog/erasure/holds.yml: the default and fraud cases): an erasure keeps their held rows
    in the raw table only, the one place its receipt names, and a staged table would keep a
    second copy of the erased person's case (tests/test_erasure.py holds this).

    The ingest keeps a registry of the delivery files a raw table holds (raw_meta.loaded_files,
    dagster_project/landing/load.py): every file loaded gets a new load id, carried by its raw
    rows as _load_id, and ids only grow. A model keeps _load_id, so:

    * new rows are the raw rows whose _load_id is above the model's highest
      (new_rows_only, in the model's is_incremental() branch);
    * anything upstream that was not a plain append shows as a load id the model holds that the
      registry no longer has (a file replaced, rewritten by an erasure or the retention sweep,
      removed, or rows deleted in the warehouse: the ingest reloads such a file under a new id),
      or as a new file delivered for a day at or before the model's latest (it could sort
      before rows the model kept). Then the model is rebuilt in full (should_full_refresh
      below), so it never keeps a row a full rebuild would not have.

    Other targets (Spark) keep these models as views: is_incremental() is false there.
-#}

{% macro incremental_events(unique_key=none) -%}
    {%- if target.type == 'duckdb' -%}
        {%- if unique_key is none -%}
            {{ config(materialized='incremental', incremental_strategy='append') }}
        {%- else -%}
            {{ config(
                materialized='incremental',
                incremental_strategy='delete+insert',
                unique_key=unique_key,
            ) }}
        {%- endif -%}
    {%- else -%}
        {{ config(materialized='view') }}
    {%- endif -%}
{%- endmacro %}


{% macro new_rows_only() -%}
    where _load_id > (select coalesce(max(_load_id), -1) from {{ this }})
{%- endmacro %}


{#- dbt's own should_full_refresh (the --full-refresh flag, or the model's full_refresh
    config), and for an incremental model whose upstream files changed other than by an
    append, true (see above). -#}
{% macro should_full_refresh() %}
    {% set config_full_refresh = config.get('full_refresh') %}
    {% if config_full_refresh is none %}
        {% set config_full_refresh = flags.FULL_REFRESH %}
    {% endif %}
    {% if not config_full_refresh and execute and model.config.materialized == 'incremental' %}
        {% set config_full_refresh = upstream_rewritten() %}
    {% endif %}
    {% do return(config_full_refresh) %}
{% endmacro %}


{% macro upstream_rewritten() %}
    {%- set existing = load_relation(this) -%}
    {%- if existing is none -%}
        {% do return(false) %}
    {%- endif -%}
    {#- built before it was incremental (a view, or a table without load ids): rebuild -#}
    {%- if not existing.is_table or '_load_id' not in (
        adapter.get_columns_in_relation(existing) | map(attribute='name') | list) -%}
        {% do return(true) %}
    {%- endif -%}
    {%- set registry = adapter.get_relation(
        database=this.database, schema='raw_meta', identifier='loaded_files') -%}
    {%- if registry is none or (model.sources | length) != 1 -%}
        {% do return(true) %}
    {%- endif -%}
    {%- set source_name, table_name = model.sources[0] -%}
    {%- set source_node = graph.sources.values()
        | selectattr('source_name', 'equalto', source_name)
        | selectattr('name', 'equalto', table_name) | first -%}
    {%- set query -%}
        with registered as (
            select load_id, delivery_date from {{ registry }}
            where source = '{{ source_node.schema | replace('raw_', '', 1) }}'
                and "table" = '{{ source_node.identifier }}'
        ),
        held as (
            select max(_load_id) as max_id, max(delivered_on) as max_day from {{ this }}
        )
        select
            (select count(*) from (select distinct _load_id from {{ this }}) m
             where m._load_id not in (select load_id from registered))
            + (select count(*) from registered, held
               where registered.load_id > held.max_id
                   and registered.delivery_date <= held.max_day)
    {%- endset -%}
    {%- set result = run_query(query) -%}
    {% do return(result.columns[0].values()[0] > 0) %}
{% endmacro %}
