with delivered as (
    select * from {{ source('markets', 'securities_holdings') }}
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
        _delivery_date as delivered_on
    from latest
)

select * from renamed
