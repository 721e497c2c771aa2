with delivered as (
    select * from {{ source('bank', 'loans') }}
),

latest as (
    {{ latest_per_key('delivered', ['loan_no']) }}
),

renamed as (
    select
        loan_no,
        customer_no,
        product_code,
        principal,
        outstanding,
        opened_on,
        closed_on,
        in_default,
        _delivery_date as delivered_on
    from latest
)

select * from renamed
