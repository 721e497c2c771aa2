{{ incremental_events(unique_key='account_no') }}

with delivered as (
    select * from {{ source('bank', 'accounts') }}
    {% if is_incremental() %}
    {{ new_rows_only() }}
    {% endif %}
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
        _delivery_date as delivered_on,
        _load_id
    from latest
)

select * from renamed
