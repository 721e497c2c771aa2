{{ incremental_events(unique_key='card_ref') }}

with delivered as (
    select * from {{ source('bank', 'cards') }}
    {% if is_incremental() %}
    {{ new_rows_only() }}
    {% endif %}
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
        _delivery_date as delivered_on,
        _load_id
    from latest
)

select * from renamed
