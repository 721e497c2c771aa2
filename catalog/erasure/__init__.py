"""Erasure (GDPR Art. 17), carried out: the person removed everywhere, kept where the law says.

- :mod:`~catalog.erasure.engine`: :func:`erase` finds the person through the identity columns
  and the lineage (the access report's search: keyed ids computed with the warehouse's own SQL,
  customer numbers and cookie ids found next to them), removes their landing records, raw rows
  and quarantine rows with the purge engine (:mod:`catalog.retention.purge`), keeps the rows
  under a legal hold, and writes the receipt;
- :mod:`~catalog.erasure.holds`: the legal holds (``holds.yml``: table, legal basis, reason;
  the period is the table's retention declaration);
- :mod:`~catalog.erasure.suppression`: the keyed hashes of erased persons' identifiers, which the
  ingest applies so a re-delivery cannot bring them back;
- :mod:`~catalog.erasure.receipt`: the receipt (counts, holds, the keyed hash; never the
  identity);
- :mod:`~catalog.erasure.requests`: the requests delivered in ``privacy.erasure_requests``.

Nothing here imports the engine eagerly: the ingest imports only the suppression list.
"""
