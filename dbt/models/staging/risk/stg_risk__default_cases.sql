{#-
    A view, not incremental as the other staging models are: this table's rows are under a
    legal hold (catalog/erasure/holds.yml), so an erasure keeps them in the raw table only, the
    one place its receipt names; a staged table would keep a second copy of the erased person's
    case (tests/test_erasure.py holds this).
-#}

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
