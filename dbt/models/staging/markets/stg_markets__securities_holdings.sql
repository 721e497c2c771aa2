{{ incremental_events(unique_key=['custody_account_no', 'isin', 'as_of_date']) }}

with delivered as (
    select * from {{ source('markets', 'securities_holdings') }}
    {% if is_incremental() %}
    {{ new_rows_only() }}
    {% endif %}
),

latest as (
    {{ latest_per_key('delivered', ['custody_account_no', 'isin', 'as_of_date']) }}
),

renamed as (
    select
        custody_account_no,
        isin,
        as_of_date,
        national_id,
        instrument_name,
        quantity,
        market_value,
        _delivery_date as delivered_on,
        _load_id
    from latest
)

select * from renamed
