"""Validate OpenLineage events against the official JSON Schemas, offline.

The spec folder (``openlineage-spec/`` with ``OpenLineage.json`` and ``facets/*.json``) is
looked up under ``$FJORDBANK_SHARED_DIR`` (default: the repository's sibling ``shared``). An
event is checked against the core schema, then every facet against the schema its
``_schemaURL`` names, which must be one of the spec's facet files (or the custom facet schema the
project ships), and the facet must sit under the key that file declares. ``$ref`` s resolve
through a ``referencing`` registry of those files only: nothing is ever fetched.

Used by the OpenLineage tests and, after a full run, on ``data/openlineage/events.jsonl``::

    from spec_validation import validate_events_file
    validate_events_file(settings().openlineage_dir / "events.jsonl")
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from catalog.openlineage import POLICY_VERDICT_FACET, policy_verdict_schema
from catalog.settings import REPO_ROOT

SHARED_DIR_ENV = "FJORDBANK_SHARED_DIR"
CORE_FILE = "OpenLineage.json"


def spec_dir() -> Path:
    """Where the spec folder should be (it may be absent)."""
    shared = os.environ.get(SHARED_DIR_ENV) or REPO_ROOT.parent / "shared"
    return Path(shared) / "openlineage-spec"


def require_spec() -> Path:
    """The spec folder, or skip the calling test with what to do."""
    folder = spec_dir()
    if not (folder / CORE_FILE).is_file() or not (folder / "facets").is_dir():
        pytest.skip(
            f"OpenLineage spec not found at {folder} (needs {CORE_FILE} and facets/): set "
            f"{SHARED_DIR_ENV} to the folder that holds openlineage-spec/"
        )
    return folder


class SpecValidator:
    """The core schema and every facet schema of one spec folder, plus the shipped custom
    facet schema, in one offline registry."""

    def __init__(self, folder: Path):
        resources: list[tuple[str, Resource]] = []
        self.facet_keys: dict[str, str] = {}  # facet file $id -> the facet key it declares
        core = json.loads((folder / CORE_FILE).read_text(encoding="utf-8"))
        self.core_id = core["$id"]
        resources.append((self.core_id, DRAFT202012.create_resource(core)))
        documents = [
            json.loads(f.read_text(encoding="utf-8"))
            for f in sorted((folder / "facets").glob("*.json"))
        ]
        documents.append(policy_verdict_schema())
        for doc in documents:
            Draft202012Validator.check_schema(doc)
            resources.append((doc["$id"], DRAFT202012.create_resource(doc)))
            keys = list((doc.get("properties") or {}).keys())
            if len(keys) == 1:
                self.facet_keys[doc["$id"]] = keys[0]
        self.registry: Registry = Registry().with_resources(resources)
        self.core = Draft202012Validator(
            core, registry=self.registry, format_checker=Draft202012Validator.FORMAT_CHECKER
        )

    def errors(self, event: Mapping[str, Any]) -> list[str]:
        """Every problem of one event (as parsed JSON); [] when it is valid."""
        # The event's own definition first (precise messages), then the core schema's oneOf.
        kind = (
            "RunEvent" if "run" in event else "DatasetEvent" if "dataset" in event else "JobEvent"
        )
        problems = [
            f"core schema ({kind}): {_where(e.absolute_path)}: {e.message}"
            for e in self._ref(f"{self.core_id}#/$defs/{kind}").iter_errors(event)
        ]
        if not problems:
            problems = [f"core schema: {e.message}" for e in self.core.iter_errors(event)]
        for where, key, facet in _facets(event):
            problems += [f"{where}.{key}: {p}" for p in self.facet_errors(key, facet)]
        return problems

    def facet_errors(self, key: str, facet: Any) -> list[str]:
        if not isinstance(facet, Mapping):
            return ["a facet must be an object"]
        url = facet.get("_schemaURL")
        if not isinstance(url, str) or "#" not in url:
            return [f"_schemaURL {url!r} does not point into a schema (document#/pointer)"]
        document = url.split("#", 1)[0]
        declared = self.facet_keys.get(document)
        if declared is None:
            return [f"_schemaURL {url} names no schema of the spec folder (or version mismatch)"]
        problems = []
        if declared != key:
            problems.append(f"{document} declares the facet key {declared!r}, not {key!r}")
        problems += [
            f"{_where(e.absolute_path)}: {e.message}" for e in self._ref(url).iter_errors(facet)
        ]
        return problems

    def _ref(self, url: str) -> Draft202012Validator:
        return Draft202012Validator(
            {"$ref": url},
            registry=self.registry,
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )


def _where(path: Any) -> str:
    return "/".join(str(p) for p in path) or "(root)"


def _facets(event: Mapping[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """(location, key, facet) for every facet of a run, job or dataset event."""
    groups: list[tuple[str, Any]] = [
        ("run.facets", (event.get("run") or {}).get("facets")),
        ("job.facets", (event.get("job") or {}).get("facets")),
    ]
    for side, extra in (("inputs", "inputFacets"), ("outputs", "outputFacets")):
        for i, ds in enumerate(event.get(side) or []):
            groups.append((f"{side}[{i}].facets", ds.get("facets")))
            groups.append((f"{side}[{i}].{extra}", ds.get(extra)))
    if isinstance(event.get("dataset"), Mapping):
        groups.append(("dataset.facets", event["dataset"].get("facets")))
    for where, facets in groups:
        for key, facet in (facets or {}).items():
            yield where, key, facet


@cache
def _validator(folder: str) -> SpecValidator:
    return SpecValidator(Path(folder))


def validator() -> SpecValidator:
    """The validator of the spec folder (skips the calling test when it is absent)."""
    return _validator(str(require_spec()))


def assert_valid(event: Mapping[str, Any]) -> None:
    problems = validator().errors(event)
    assert not problems, "event does not follow the OpenLineage spec:\n" + "\n".join(problems)


def validate_events_file(path: str | os.PathLike[str]) -> int:
    """Assert every line of an events file (one JSON event per line) is a valid event;
    returns the number of events. An empty or missing file fails."""
    v = validator()
    path = Path(path)
    assert path.is_file(), f"no events file at {path}: did the run emit OpenLineage events?"
    problems: list[str] = []
    count = 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        count += 1
        try:
            event = json.loads(line)
        except ValueError as e:
            problems.append(f"line {number}: not JSON ({e})")
            continue
        problems += [f"line {number}: {p}" for p in v.errors(event)]
    assert count, f"{path} holds no events"
    assert not problems, f"{len(problems)} problem(s) in {path}:\n" + "\n".join(problems[:50])
    return count


__all__ = [
    "POLICY_VERDICT_FACET",
    "SHARED_DIR_ENV",
    "SpecValidator",
    "assert_valid",
    "require_spec",
    "spec_dir",
    "validate_events_file",
    "validator",
]
