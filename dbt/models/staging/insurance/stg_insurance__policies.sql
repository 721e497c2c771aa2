with delivered as (
    select * from {{ source('insurance', 'policies') }}
),

latest as (
    {{ latest_per_key('delivered', ['policy_no']) }}
),

renamed as (
    select
        policy_no,
        insurance_customer_no as customer_no,
        national_id,
        product_code,
        annual_premium,
        start_date,
        end_date,
        _delivery_date as delivered_on
    from latest
)

select * from renamed
