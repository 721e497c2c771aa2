with delivered as (
    select * from {{ source('privacy', 'cookie_consents') }}
),

renamed as (
    select
        visitor_id,
        event_time,
        marketing_cookies,
        _delivery_date as delivered_on
    from delivered
)

select * from renamed
