"""``catalog check``: compile, derive lineage, resolve tags, evaluate, report.

Exit codes: 0 the policy holds, 1 violations, 2 the check could not run (the project does not
compile, SQL does not parse, a ``*`` cannot be expanded, the configuration is wrong): it fails
closed and never reports a pass it could not prove.
"""

from __future__ import annotations

import json
from pathlib import Path

from catalog.lineage.errors import LineageError
from catalog.lineage.project import ProjectLineageError
from catalog.loader import load_catalog
from catalog.manifest import Manifest, ManifestError
from catalog.policy import PolicyResult
from catalog.policy.config import PolicyConfigError
from catalog.policy.result import PolicyError
from catalog.taxonomy import TaxonomyError

EXIT_OK, EXIT_VIOLATIONS, EXIT_ERROR = 0, 1, 2

# Everything that means "could not check": exit 2 with one line.
CHECK_ERRORS = (
    LineageError,
    ManifestError,
    PolicyConfigError,
    PolicyError,
    TaxonomyError,
    OSError,
)


def check_manifest(manifest: Manifest, policy: Path | None = None) -> PolicyResult:
    """Lineage of the whole project, its tags, and the policy evaluated on them."""
    return load_catalog(manifest, policy_path=policy).verdict()


def exit_code(result: PolicyResult) -> int:
    return EXIT_OK if result.ok else EXIT_VIOLATIONS


def render_text(result: PolicyResult) -> str:
    checked = (
        f"{result.models_checked} models, {result.seeds_checked} seeds, "
        f"{result.sources_checked} sources, {result.columns_checked} columns checked"
    )
    if result.ok:
        return f"privacy policy holds ({checked})"
    nodes = len({v.model for v in result.violations})  # models, seeds or sources
    lines = [v.to_text() for v in result.violations]
    lines.append(
        f"{len(result.violations)} violation(s) of the privacy policy in {nodes} node(s) "
        f"({checked})"
    )
    return "\n".join(lines)


def render_json(result: PolicyResult) -> str:
    return json.dumps(result.to_json(), indent=2)


def error_line(exc: BaseException) -> str:
    """One line saying what is wrong (the errors above already say what to do)."""
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.strerror or exc}: {exc.filename}"
    return " ".join(str(exc).split()) or type(exc).__name__


def error_lines(exc: BaseException) -> list[str]:
    """What is wrong, one line per failing model (``ProjectLineageError``), else one line."""
    if isinstance(exc, ProjectLineageError):
        return [error_line(e) for e in exc.errors]
    return [error_line(exc)]
