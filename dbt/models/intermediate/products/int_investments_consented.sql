{#-
    CONSENT GATE (group_sharing). Securities (Fjordbank Markets) and fund holdings (Fjordbank
    Asset Management) of the persons whose current group-sharing consent is granted; nobody else's
    values pass. Securities and fund data, and the fact that a person is a securities or fund
    customer at all, reach marketing and model development only through this model. One row per
    consenting person holding securities or funds in the newest snapshot, with the birth date
    their identity number encodes (for holders no neutral company knows).
-#}

with consents as (
    select * from {{ ref('int_group_sharing_consents_resolved') }}
),

securities_holdings as (
    select * from {{ ref('stg_markets__securities_holdings') }}
),

fund_holdings as (
    select * from {{ ref('stg_asset_management__fund_holdings') }}
),

securities_snapshot as (
    select max(as_of_date) as as_of_date
    from securities_holdings
),

fund_snapshot as (
    select max(as_of_date) as as_of_date
    from fund_holdings
),

holder_ids as (
    select securities_holdings.national_id
    from securities_holdings
    inner join securities_snapshot
        on securities_holdings.as_of_date = securities_snapshot.as_of_date
    union
    select fund_holdings.national_id
    from fund_holdings
    inner join fund_snapshot
        on fund_holdings.as_of_date = fund_snapshot.as_of_date
),

holders as (
    select
        national_id,
        {{ keyed_hash('national_id') }} as person_id
    from holder_ids
),

consenting_holders as (
    select
        holders.person_id,
        holders.national_id
    from holders
    inner join consents
        on holders.person_id = consents.person_id
    where consents.has_group_sharing_consent
),

consented_securities as (
    select
        consenting_holders.person_id,
        sum(securities_holdings.market_value) as securities_market_value,
        count(distinct securities_holdings.isin) as securities_position_count
    from securities_holdings
    inner join securities_snapshot
        on securities_holdings.as_of_date = securities_snapshot.as_of_date
    inner join consenting_holders
        on securities_holdings.national_id = consenting_holders.national_id
    group by consenting_holders.person_id
),

consented_funds as (
    select
        consenting_holders.person_id,
        sum(fund_holdings.market_value) as fund_market_value,
        count(distinct fund_holdings.fund_code) as fund_count
    from fund_holdings
    inner join fund_snapshot
        on fund_holdings.as_of_date = fund_snapshot.as_of_date
    inner join consenting_holders
        on fund_holdings.national_id = consenting_holders.national_id
    group by consenting_holders.person_id
),

gated as (
    select
        consenting_holders.person_id,
        {{ national_id_birth_date('consenting_holders.national_id') }} as birth_date,
        consented_securities.securities_market_value,
        {{ amount_band('consented_securities.securities_market_value') }}
            as securities_value_band,
        consented_securities.securities_position_count,
        consented_funds.fund_market_value,
        {{ amount_band('consented_funds.fund_market_value') }} as fund_value_band,
        consented_funds.fund_count
    from consenting_holders
    left join consented_securities
        on consenting_holders.person_id = consented_securities.person_id
    left join consented_funds
        on consenting_holders.person_id = consented_funds.person_id
)

select * from gated
