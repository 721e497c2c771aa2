with delivered as (
    select * from {{ source('markets', 'securities_accounts') }}
),

latest as (
    {{ latest_per_key('delivered', ['custody_account_no']) }}
),

renamed as (
    select
        custody_account_no,
        national_id,
        opened_on,
        closed_on,
        _delivery_date as delivered_on
    from latest
)

select * from renamed
