with delivered as (
    select * from {{ source('privacy', 'erasure_requests') }}
),

renamed as (
    select
        request_id,
        national_id,
        received_at,
        _delivery_date as delivered_on
    from delivered
)

select * from renamed
