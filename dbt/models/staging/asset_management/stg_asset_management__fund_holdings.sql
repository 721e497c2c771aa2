with delivered as (
    select * from {{ source('asset_management', 'fund_holdings') }}
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
        _delivery_date as delivered_on
    from latest
)

select * from renamed
