{{ incremental_events(unique_key='case_no') }}

with delivered as (
    select * from {{ source('risk', 'default_cases') }}
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
        loan_no,
        defaulted_amount,
        loss_amount,
        cause,
        opened_on,
        closed_on,
        _delivery_date as delivered_on,
        _load_id
    from latest
)

select * from renamed
