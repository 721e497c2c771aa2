{{ incremental_events(unique_key='case_no') }}

with delivered as (
    select * from {{ source('risk', 'fraud_cases') }}
    {% if is_incremental() %}
    {{ new_rows_only() }}
    {% endif %}
),

latest as (
    {{ latest_per_key('delivered', ['case_no']) }}
),

renamed as (
    select
        case_no,
        national_id,
        category,
        opened_on,
        closed_on,
        _delivery_date as delivered_on,
        _load_id
    from latest
)

select * from renamed
