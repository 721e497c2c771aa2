{#-
    CONSENT GATE (group_sharing). Securities (Fjordbank Markets) and fund holdings (Fjordbank
    Asset Management) of the persons whose current group-sharing consent is granted; nobody else's
    values pass. Securities and fund data reach marketing and model development only through
    this model. One row per consenting person holding securities or funds in the newest snapshot.
-#}

with persons as (
    select * from {{ ref('int_persons_matched') }}
),

consents as (
    select * from {{ ref('int_group_sharing_consents_resolved') }}
),

securities_holdings as (
    select * from {{ ref('stg_markets__securities_holdings') }}
),

fund_holdings as (
    select * from {{ ref('stg_asset_management__fund_holdings') }}
),

consenting_persons as (
    select
        persons.person_id,
        persons.national_id
    from persons
    inner join consents
        on persons.person_id = consents.person_id
    where consents.has_group_sharing_consent
),

securities_snapshot as (
    select max(as_of_date) as as_of_date
    from securities_holdings
),

fund_snapshot as (
    select max(as_of_date) as as_of_date
    from fund_holdings
),

consented_securities as (
    select
        consenting_persons.person_id,
        sum(securities_holdings.market_value) as securities_market_value,
        count(distinct securities_holdings.isin) as securities_position_count
    from securities_holdings
    inner join securities_snapshot
        on securities_holdings.as_of_date = securities_snapshot.as_of_date
    inner join consenting_persons
        on securities_holdings.national_id = consenting_persons.national_id
    group by consenting_persons.person_id
),

consented_funds as (
    select
        consenting_persons.person_id,
        sum(fund_holdings.market_value) as fund_market_value,
        count(distinct fund_holdings.fund_code) as fund_count
    from fund_holdings
    inner join fund_snapshot
        on fund_holdings.as_of_date = fund_snapshot.as_of_date
    inner join consenting_persons
        on fund_holdings.national_id = consenting_persons.national_id
    group by consenting_persons.person_id
),

holders as (
    select person_id from consented_securities
    union
    select person_id from consented_funds
),

gated as (
    select
        holders.person_id,
        consented_securities.securities_market_value,
        {{ amount_band('consented_securities.securities_market_value') }}
            as securities_value_band,
        consented_securities.securities_position_count,
        consented_funds.fund_market_value,
        {{ amount_band('consented_funds.fund_market_value') }} as fund_value_band,
        consented_funds.fund_count
    from holders
    left join consented_securities
        on holders.person_id = consented_securities.person_id
    left join consented_funds
        on holders.person_id = consented_funds.person_id
)

select * from gated
