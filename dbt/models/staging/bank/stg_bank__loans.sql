{{ incremental_events(unique_key='loan_no') }}

with delivered as (
    select * from {{ source('bank', 'loans') }}
    {% if is_incremental() %}
    {{ new_rows_only() }}
    {% endif %}
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
        _delivery_date as delivered_on,
        _load_id
    from latest
)

select * from renamed
