{{ incremental_events(unique_key=['fund_account_no', 'fund_code', 'as_of_date']) }}

with delivered as (
    select * from {{ source('asset_management', 'fund_holdings') }}
    {% if is_incremental() %}
    {{ new_rows_only() }}
    {% endif %}
),

latest as (
    {{ latest_per_key('delivered', ['fund_account_no', 'fund_code', 'as_of_date']) }}
),

renamed as (
    select
        fund_account_no,
        fund_code,
        as_of_date,
        national_id,
        fund_name,
        units,
        market_value,
        _delivery_date as delivered_on,
        _load_id
    from latest
)

select * from renamed
