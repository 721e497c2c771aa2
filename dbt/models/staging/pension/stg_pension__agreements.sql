with delivered as (
    select * from {{ source('pension', 'agreements') }}
),

latest as (
    {{ latest_per_key('delivered', ['agreement_no']) }}
),

renamed as (
    select
        agreement_no,
        pension_customer_no as customer_no,
        national_id,
        product_code,
        balance,
        start_date,
        end_date,
        _delivery_date as delivered_on
    from latest
)

select * from renamed
