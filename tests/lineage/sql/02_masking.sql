-- Hashes and HMAC-like UDFs mask; masking is kept along a chain (OR) but only if every
-- DIRECT route of a column masks. A keyed hash (HMAC) is keyed; a plain hash over a keyed
-- one stays keyed, a keyed route next to a plain one is not.
-- columns: pid, email_hash, h, shouted_hash, mixed, name, pid_md5, either
-- expect: pid <- bank.customers.national_id DIRECT/TRANSFORMATION masking keyed
-- expect: email_hash <- bank.customers.email DIRECT/TRANSFORMATION masking
-- expect: h <- bank.customers.postcode DIRECT/TRANSFORMATION masking
-- expect: shouted_hash <- bank.customers.email DIRECT/TRANSFORMATION masking
-- expect: mixed <- bank.customers.email DIRECT/TRANSFORMATION
-- expect: mixed <- bank.customers.first_name DIRECT/TRANSFORMATION masking
-- expect: name <- bank.customers.last_name DIRECT/TRANSFORMATION
-- expect: pid_md5 <- bank.customers.national_id DIRECT/TRANSFORMATION masking keyed
-- expect: either <- bank.customers.national_id DIRECT/TRANSFORMATION masking
with hashed as (
    select
        fjordbank_hmac_sha256(national_id, 'key') as pid,
        sha256(email) as email_hash,
        national_id,
        email,
        first_name,
        last_name,
        postcode
    from bank.customers
)
select
    pid,
    email_hash,
    hash(postcode) as h,
    upper(email_hash) as shouted_hash,
    md5(email) || email || md5(first_name) as mixed,
    upper(last_name) as name,
    md5(pid) as pid_md5,
    coalesce(pid, sha256(national_id)) as either
from hashed
