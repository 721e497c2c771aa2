{{ incremental_events(unique_key=['customer_no', 'login_date', 'channel']) }}

with delivered as (
    select * from {{ source('bank', 'digital_logins') }}
    {% if is_incremental() %}
    {{ new_rows_only() }}
    {% endif %}
),

latest as (
    {{ latest_per_key('delivered', ['customer_no', 'login_date', 'channel']) }}
),

renamed as (
    select
        customer_no,
        login_date,
        channel,
        login_count,
        _delivery_date as delivered_on,
        _load_id
    from latest
)

select * from renamed
