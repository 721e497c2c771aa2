with delivered as (
    select * from {{ source('bank', 'cards') }}
),

latest as (
    {{ latest_per_key('delivered', ['card_ref']) }}
),

renamed as (
    select
        card_ref,
        customer_no,
        product_code,
        credit_limit,
        opened_on,
        closed_on,
        _delivery_date as delivered_on
    from latest
)

select * from renamed
