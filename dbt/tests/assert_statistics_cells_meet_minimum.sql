-- Every published statistics cell describes at least var('statistics_min_cell_size') persons.

select
    postcode_area,
    age_group,
    product,
    customer_count
from {{ ref('statistics_customers_by_postcode_area') }}
where customer_count < {{ var('statistics_min_cell_size') }}
