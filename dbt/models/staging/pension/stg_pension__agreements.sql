{{ incremental_events(unique_key='agreement_no') }}

with delivered as (
    select * from {{ source('pension', 'agreements') }}
    {% if is_incremental() %}
    {{ new_rows_only() }}
    {% endif %}
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
        _delivery_date as delivered_on,
        _load_id
    from latest
)

select * from renamed
