"""JSON Schemas of the custom OpenLineage facets the platform ships (served from
``https://fjordbank.example/spec/facets/...``; the files here are the source)."""
