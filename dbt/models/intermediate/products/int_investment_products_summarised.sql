{#-
    Which securities and fund products each person has, for the group register only (customer
    administration): open custody accounts at Fjordbank Markets and fund products held in
    Fjordbank Asset Management's newest snapshot. Counts only, no holdings or values. One row per
    person of int_persons_matched. Marketing and model development never read this model.
-#}

with persons as (
    select * from {{ ref('int_persons_matched') }}
),

securities_accounts as (
    select * from {{ ref('stg_markets__securities_accounts') }}
),

fund_holdings as (
    select * from {{ ref('stg_asset_management__fund_holdings') }}
),

securities_account_counts as (
    select
        persons.person_id,
        count(case when securities_accounts.custody_account_no is not null then 1 end)
            as securities_account_count
    from securities_accounts
    inner join persons
        on securities_accounts.national_id = persons.national_id
    where securities_accounts.closed_on is null or securities_accounts.closed_on > current_date
    group by persons.person_id
),

fund_snapshot as (
    select max(as_of_date) as as_of_date
    from fund_holdings
),

fund_product_counts as (
    select
        persons.person_id,
        count(distinct fund_holdings.fund_code) as fund_product_count
    from fund_holdings
    inner join fund_snapshot
        on fund_holdings.as_of_date = fund_snapshot.as_of_date
    inner join persons
        on fund_holdings.national_id = persons.national_id
    group by persons.person_id
),

summarised as (
    select
        persons.person_id,
        coalesce(securities_account_counts.securities_account_count, 0)
            as securities_account_count,
        coalesce(fund_product_counts.fund_product_count, 0) as fund_product_count
    from persons
    left join securities_account_counts
        on persons.person_id = securities_account_counts.person_id
    left join fund_product_counts
        on persons.person_id = fund_product_counts.person_id
)

select * from summarised
