{{ incremental_events(unique_key='customer_no') }}

with delivered as (
    select * from {{ source('bank', 'customers') }}
    {% if is_incremental() %}
    {{ new_rows_only() }}
    {% endif %}
),

latest as (
    {{ latest_per_key('delivered', ['customer_no']) }}
),

renamed as (
    select
        customer_no,
        national_id,
        first_name,
        last_name,
        birth_date,
        street_address,
        postcode,
        city,
        country_code,
        {{ normalised_email('email') }} as email,
        phone,
        customer_since,
        customer_until,
        _delivery_date as delivered_on,
        _load_id
    from latest
)

select * from renamed
