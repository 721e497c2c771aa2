{#- A view: rows under a legal hold (dbt/macros/incremental/incremental_events.sql says why). -#}

with delivered as (
    select * from {{ source('risk', 'default_cases') }}
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
        _delivery_date as delivered_on
    from latest
)

select * from renamed
