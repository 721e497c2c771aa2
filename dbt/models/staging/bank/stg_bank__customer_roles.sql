{{ incremental_events(unique_key=['agreement_no', 'customer_no', 'role']) }}

with delivered as (
    select * from {{ source('bank', 'customer_roles') }}
    {% if is_incremental() %}
    {{ new_rows_only() }}
    {% endif %}
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
        _delivery_date as delivered_on,
        _load_id
    from latest
)

select * from renamed
