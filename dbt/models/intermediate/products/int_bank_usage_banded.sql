{#-
    How each bank customer uses the bank, as ranges: balance, deposit and withdrawal amounts,
    transaction frequency (last 30 days) and login frequency in the online bank and apps
    (the 30 days up to the newest login delivery). One row per person with a bank customer
    number.
-#}

with bank_customer_persons as (
    select * from {{ ref('int_bank_customers_matched') }}
),

accounts as (
    select * from {{ ref('stg_bank__accounts') }}
),

digital_logins as (
    select * from {{ ref('stg_bank__digital_logins') }}
),

bank_persons as (
    select distinct person_id
    from bank_customer_persons
),

account_usage as (
    select
        bank_customer_persons.person_id,
        sum(accounts.balance) as total_balance,
        sum(accounts.deposit_amount_last_30d) as deposit_amount_last_30d,
        sum(accounts.withdrawal_amount_last_30d) as withdrawal_amount_last_30d,
        sum(accounts.deposits_last_30d + accounts.withdrawals_last_30d) as transactions_last_30d
    from accounts
    inner join bank_customer_persons
        on accounts.customer_no = bank_customer_persons.customer_no
    where accounts.closed_on is null or accounts.closed_on > current_date
    group by bank_customer_persons.person_id
),

-- The 30 days end on the newest delivery of the login extract, not on the day of the run.
login_period as (
    select max(delivered_on) as as_of_date
    from digital_logins
),

login_usage as (
    select
        bank_customer_persons.person_id,
        sum(digital_logins.login_count) as logins_last_30d
    from digital_logins
    inner join login_period
        on digital_logins.login_date > {{ dbt.dateadd('day', -30, 'login_period.as_of_date') }}
        and digital_logins.login_date <= login_period.as_of_date
    inner join bank_customer_persons
        on digital_logins.customer_no = bank_customer_persons.customer_no
    group by bank_customer_persons.person_id
),

banded as (
    select
        bank_persons.person_id,
        {{ amount_band('coalesce(account_usage.total_balance, 0)') }} as balance_band,
        {{ amount_band('coalesce(account_usage.deposit_amount_last_30d, 0)') }} as deposit_band,
        {{ amount_band('coalesce(account_usage.withdrawal_amount_last_30d, 0)') }}
            as withdrawal_band,
        {{ count_band('coalesce(account_usage.transactions_last_30d, 0)') }}
            as transaction_frequency_band,
        {{ login_frequency('login_usage.logins_last_30d') }} as login_frequency
    from bank_persons
    left join account_usage
        on bank_persons.person_id = account_usage.person_id
    left join login_usage
        on bank_persons.person_id = login_usage.person_id
)

select * from banded
