"""The ``tags`` dataset facet: one entry per column and privacy tag, ``field`` set to the column.

>>> f = tags_facet({"email": {"privacy.category": "contact", "privacy.purposes": ["a", "b"]}})
>>> [(t.key, t.value, t.field) for t in f.tags]
[('privacy.category', 'contact', 'email'), ('privacy.purposes', 'a, b', 'email')]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from openlineage.client.facet_v2 import tags_dataset

from catalog.openlineage.naming import PRODUCER_FIELD

__all__ = ["PRIVACY_TAG_KEYS", "node_column_tags", "privacy_tag_values", "tags_facet"]

PRIVACY_TAG_KEYS = (
    "privacy.category",
    "privacy.purposes",
    "privacy.legal_basis",
    "privacy.retention",
)


def privacy_tag_values(tags: Any) -> dict[str, str]:
    """``{"privacy.category": ..., ...}`` of one column: from ``catalog.tags.ColumnTags`` or
    from a plain mapping (list values are joined with ``", "``); unset tags are left out."""
    if isinstance(tags, Mapping):
        raw = dict(tags)
    else:
        raw = {
            "privacy.category": tags.category,
            "privacy.purposes": list(tags.purposes),
            "privacy.legal_basis": [*tags.legal_basis, *tags.art9_ground],
            "privacy.retention": tags.retention,
        }
    out = {}
    for key, value in raw.items():
        if isinstance(value, list | tuple):
            value = ", ".join(str(v) for v in value)
        if value:
            out[key] = str(value)
    return out


def tags_facet(
    columns: Mapping[str, Any], *, order: Sequence[str] | None = None, source: str = "DBT"
) -> tags_dataset.TagsDatasetFacet:
    """``tags``: one entry per column and privacy tag, ``field`` set to the column.

    ``columns`` maps a column to its tags (``ColumnTags`` or ``{"privacy.category": ...}``);
    ``order`` lists the columns in dataset order (default: the mapping's)."""
    entries = []
    for column in order if order is not None else list(columns):
        tags = columns.get(column)
        if tags is None:
            continue
        values = privacy_tag_values(tags)
        for key in (*PRIVACY_TAG_KEYS, *sorted(set(values) - set(PRIVACY_TAG_KEYS))):
            if key in values:
                entries.append(
                    tags_dataset.TagsDatasetFacetFields(
                        key=key, value=values[key], source=source, field=column
                    )
                )
    return tags_dataset.TagsDatasetFacet(tags=entries, **PRODUCER_FIELD)


def node_column_tags(tags: Mapping[str, Any] | None, unique_id: str) -> Mapping[str, Any]:
    """One node's column tags from ``ProjectTags`` (NodeTags) or a plain nested mapping."""
    entry = (tags or {}).get(unique_id)
    if entry is None:
        return {}
    columns = getattr(entry, "columns", entry)
    return {str(k).lower(): v for k, v in columns.items()}
