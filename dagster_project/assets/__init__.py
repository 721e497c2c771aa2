"""The project's assets: landing ingest, the dbt models."""
