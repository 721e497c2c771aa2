"""Landing zone: the contract each group company delivers against, the synthetic generator,
and the ingest of the deliveries into the raw tables (no Dagster)."""
