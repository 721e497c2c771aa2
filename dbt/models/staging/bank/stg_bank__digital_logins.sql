with delivered as (
    select * from {{ source('bank', 'digital_logins') }}
),

latest as (
    {{ latest_per_key('delivered', ['customer_no', 'login_date', 'channel']) }}
),

renamed as (
    select
        customer_no,
        login_date,
        channel,
        login_count,
        _delivery_date as delivered_on
    from latest
)

select * from renamed
