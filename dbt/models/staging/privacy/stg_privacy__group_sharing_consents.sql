{{ incremental_events() }}

with delivered as (
    select * from {{ source('privacy', 'group_sharing_consents') }}
    {% if is_incremental() %}
    {{ new_rows_only() }}
    {% endif %}
),

renamed as (
    select
        national_id,
        event_time,
        consent,
        channel,
        _delivery_date as delivered_on,
        _load_id
    from delivered
)

select * from renamed
