{{ incremental_events(unique_key='policy_no') }}

with delivered as (
    select * from {{ source('insurance', 'policies') }}
    {% if is_incremental() %}
    {{ new_rows_only() }}
    {% endif %}
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
        _delivery_date as delivered_on,
        _load_id
    from latest
)

select * from renamed
