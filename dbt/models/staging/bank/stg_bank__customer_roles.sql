with delivered as (
    select * from {{ source('bank', 'customer_roles') }}
),

latest as (
    {{ latest_per_key('delivered', ['agreement_no', 'customer_no', 'role']) }}
),

renamed as (
    select
        agreement_no,
        customer_no,
        role,
        related_customer_no,
        _delivery_date as delivered_on
    from latest
)

select * from renamed
