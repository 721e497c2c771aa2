{#-
    Customers per postcode area (first two digits of the postcode), age group and product, for
    statistics shared outside the group. Never personal data: no person-level columns, persons
    objecting to statistics left out, and only cells describing at least
    var('statistics_min_cell_size') distinct persons are published.
-#}

with persons as (
    select * from {{ ref('int_neutral_persons_matched') }}
),

holdings as (
    select * from {{ ref('int_product_holdings_summarised') }}
),

objections as (
    select * from {{ ref('int_objections_pivoted') }}
),

included as (
    select
        persons.person_id,
        substr(persons.postcode, 1, 2) as postcode_area,
        {{ age_group(age_in_years('persons.birth_date')) }} as age_group,
        holdings.current_account_count,
        holdings.savings_account_count,
        holdings.credit_card_count,
        holdings.mortgage_count,
        holdings.consumer_loan_count + holdings.car_loan_count + holdings.student_loan_count
            as other_loan_count,
        holdings.personal_insurance_count,
        holdings.non_life_insurance_count,
        holdings.pension_agreement_count
    from persons
    inner join holdings
        on persons.person_id = holdings.person_id
    left join objections
        on persons.person_id = objections.person_id
    where not coalesce(objections.objects_statistics, false)
        and persons.postcode is not null
        and persons.birth_date is not null
),

person_products as (
    select person_id, postcode_area, age_group, 'current_account' as product
    from included where current_account_count > 0
    union all
    select person_id, postcode_area, age_group, 'savings_account' as product
    from included where savings_account_count > 0
    union all
    select person_id, postcode_area, age_group, 'credit_card' as product
    from included where credit_card_count > 0
    union all
    select person_id, postcode_area, age_group, 'mortgage' as product
    from included where mortgage_count > 0
    union all
    select person_id, postcode_area, age_group, 'other_loan' as product
    from included where other_loan_count > 0
    union all
    select person_id, postcode_area, age_group, 'personal_insurance' as product
    from included where personal_insurance_count > 0
    union all
    select person_id, postcode_area, age_group, 'non_life_insurance' as product
    from included where non_life_insurance_count > 0
    union all
    select person_id, postcode_area, age_group, 'pension' as product
    from included where pension_agreement_count > 0
),

cells as (
    select
        postcode_area,
        age_group,
        product,
        count(distinct person_id) as customer_count
    from person_products
    group by postcode_area, age_group, product
),

published as (
    select
        postcode_area,
        age_group,
        product,
        customer_count,
        current_date as computed_on
    from cells
    where customer_count >= {{ var('statistics_min_cell_size') }}
)

select * from published
