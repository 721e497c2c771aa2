{{ incremental_events() }}

with delivered as (
    select * from {{ source('privacy', 'cookie_consents') }}
    {% if is_incremental() %}
    {{ new_rows_only() }}
    {% endif %}
),

renamed as (
    select
        visitor_id,
        event_time,
        marketing_cookies,
        _delivery_date as delivered_on,
        _load_id
    from delivered
)

select * from renamed
