{{ incremental_events(unique_key='view_id') }}

with delivered as (
    select * from {{ source('web', 'page_views') }}
    {% if is_incremental() %}
    {{ new_rows_only() }}
    {% endif %}
),

latest as (
    {{ latest_per_key('delivered', ['view_id']) }}
),

renamed as (
    select
        view_id,
        visitor_id,
        national_id,
        ip_address,
        page_path,
        viewed_at,
        _delivery_date as delivered_on,
        _load_id
    from latest
)

select * from renamed
