with delivered as (
    select * from {{ source('web', 'page_views') }}
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
        _delivery_date as delivered_on
    from latest
)

select * from renamed
