{{ incremental_events() }}

with delivered as (
    select * from {{ source('privacy', 'objections') }}
    {% if is_incremental() %}
    {{ new_rows_only() }}
    {% endif %}
),

renamed as (
    select
        national_id,
        scope,
        event_time,
        action,
        _delivery_date as delivered_on,
        _load_id
    from delivered
)

select * from renamed
