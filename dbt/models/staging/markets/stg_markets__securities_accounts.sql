{{ incremental_events(unique_key='custody_account_no') }}

with delivered as (
    select * from {{ source('markets', 'securities_accounts') }}
    {% if is_incremental() %}
    {{ new_rows_only() }}
    {% endif %}
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
        _delivery_date as delivered_on,
        _load_id
    from latest
)

select * from renamed
