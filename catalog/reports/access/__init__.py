"""The access report (GDPR Art. 15): every table of the warehouse that holds data about one
person, each column's value with its privacy tags and source company, the profiling done and
the recipients, found through the identity columns the catalog knows.

How a person's rows are found, from tags and lineage (no hand-kept list of tables):

1. *Identifier columns* are the columns whose category is one of the controller
   configuration's ``access.identifier_categories``: the national identity number (one number
   space for everyone), cookie ids (one space across the group), customer numbers and
   pseudonyms (numbered per source).
2. Each identifier column belongs to a *domain*: national and group identifiers to their
   category; per-source identifiers to the source table column they are copied from (DIRECT,
   IDENTITY or AGGREGATION edges without masking), so ``stg_bank__accounts.customer_no`` and
   ``raw_bank.customers.customer_no`` share the bank's domain. A column computed otherwise (a
   keyed hash, for ``person_id`` and the model-development pseudonym) starts a domain of its
   own.
3. The person's values: the national identity number given; each keyed-hash domain computed
   from it by evaluating the column's own compiled SQL expression (found with sqlglot) in an
   in-memory DuckDB with the keyed-hash function registered under the pseudonymisation key;
   and the identifiers found next to the person's values in the rows already matched (the bank
   customer numbers in the register row), until nothing new is found. A table with two columns
   of one domain (``customer_roles``: customer and related customer) relates persons and is
   never used to learn identifiers.
4. A row whose national identity number (or keyed-hash pseudonym of it) is someone else's is
   not about the person (a device shared by two logged-in persons) and is left out.
5. Rows an exemption of the controller configuration (``access.withheld``: an open fraud case)
   withholds are dropped before anything is read from them, in the source table and in every
   table derived from it, so the report is the one of the same data without them (no tipping
   off); the quarantine (``access.quarantine_table``) is searched with the identifiers found.

One job per module, in the order they run:

- :mod:`.domains`: the identifier columns and their domains (steps 1 and 2);
- :mod:`.derivation`: a computed identifier's SQL expression, with ``sqlglot.lineage`` (why not
  the project's lineage engine: see there);
- :mod:`.evaluation`: that expression evaluated for the person (step 3);
- :mod:`.exemptions`: the withheld rows (step 5);
- :mod:`.search`: the search of the warehouse and the quarantine (steps 3 to 5);
- :mod:`.profiling`: the profiling results and the features they use;
- :mod:`.report`: :func:`access_report`, the report (:func:`search_person`, the search alone,
  is what the portability export, :mod:`catalog.reports.export`, reads);
- :mod:`.render`: JSON and Markdown;
- :mod:`.values` (warehouse values as JSON) and :mod:`.errors` (:class:`AccessError`).

The number is validated by :func:`catalog.national_id.check_national_id`.

Exit codes of ``catalog access``: 0 data found, 1 no data held about the person (the report
says so), 2 the number is invalid or the report could not be made.
"""

from catalog.reports.access.errors import AccessError
from catalog.reports.access.render import render_json, render_markdown
from catalog.reports.access.report import (
    EXIT_ERROR,
    EXIT_FOUND,
    EXIT_NOT_FOUND,
    AccessReport,
    access_report,
)

__all__ = [
    "EXIT_ERROR",
    "EXIT_FOUND",
    "EXIT_NOT_FOUND",
    "AccessError",
    "AccessReport",
    "access_report",
    "render_json",
    "render_markdown",
]
