{#-
    The contact list for customer matching on social platforms: SHA-256 (hex) of the normalised
    e-mail address (trimmed, lower case) and phone number (E.164), as the platforms require, for
    adult bank customers who object neither to social matching nor to direct marketing. The
    processor deletes the list after matching; here it lives one day (rebuilt daily).
-#}

with persons as (
    select * from {{ ref('int_neutral_persons_matched') }}
),

objections as (
    select * from {{ ref('int_objections_pivoted') }}
),

normalised as (
    select
        persons.person_id,
        {{ normalised_email('persons.email') }} as email,
        {{ normalised_phone('persons.phone') }} as phone
    from persons
    left join objections
        on persons.person_id = objections.person_id
    where persons.is_bank_customer
        and {{ age_in_years('persons.birth_date') }} >= 18
        and not coalesce(objections.objects_social_matching, false)
        and not coalesce(objections.objects_direct_marketing, false)
),

hashed as (
    select
        person_id,
        case when email is not null then {{ sha256_hex('email') }} end as email_sha256,
        case when phone is not null then {{ sha256_hex('phone') }} end as phone_sha256,
        current_date as list_date
    from normalised
    where email is not null
        or phone is not null
)

select * from hashed
