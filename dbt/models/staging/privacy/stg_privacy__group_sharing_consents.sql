with delivered as (
    select * from {{ source('privacy', 'group_sharing_consents') }}
),

renamed as (
    select
        national_id,
        event_time,
        consent,
        channel,
        _delivery_date as delivered_on
    from delivered
)

select * from renamed
