with delivered as (
    select * from {{ source('bank', 'accounts') }}
),

latest as (
    {{ latest_per_key('delivered', ['account_no']) }}
),

renamed as (
    select
        account_no,
        customer_no,
        product_code,
        opened_on,
        closed_on,
        balance,
        deposits_last_30d,
        withdrawals_last_30d,
        deposit_amount_last_30d,
        withdrawal_amount_last_30d,
        _delivery_date as delivered_on
    from latest
)

select * from renamed
