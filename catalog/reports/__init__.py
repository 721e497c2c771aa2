"""Compliance views generated from the catalog (tags, lineage, policy) and the warehouse.

- ``lineage_page``: the self-contained lineage page (``catalog report``).
- ``ropa``: the record of processing activities, GDPR Art. 30(1) (``catalog ropa``).
- ``access``: the access report for one person, GDPR Art. 15 (``catalog access``).
- ``controller``: the controller configuration (``catalog/controller.yml``) they read.
- ``context``: what they share, asked of ``catalog.loader.Catalog`` (restricted data, source
  companies, layers, durations in words).
"""
