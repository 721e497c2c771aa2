with delivered as (
    select * from {{ source('privacy', 'objections') }}
),

renamed as (
    select
        national_id,
        scope,
        event_time,
        action,
        _delivery_date as delivered_on
    from delivered
)

select * from renamed
