"""The dbt models, seeds and tests as Dagster assets and checks, behind the policy gate."""

import datetime as dt
import importlib.metadata
import queue
import shutil
import sys
import threading
from functools import cached_property
from pathlib import Path

import dagster as dg
from dagster_dbt import DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets
from packaging.version import Version

from catalog.loader import Catalog
from catalog.openlineage import policy_verdict_facet
from dagster_project.assets.withheld import plan_withholding, withhold
from dagster_project.openlineage import OpenLineageResource, emit_dbt_build, nominal_time_of
from dagster_project.project import DBT_PROJECT_DIR, failure_lines, manifest_stale, run_dbt
from dagster_project.resources import Warehouse
from dagster_project.spark import is_spark, spark_method
from dagster_project.translator import FjordbankTranslator


class DbtCoreCliResource(DbtCliResource):
    """dagster-dbt's dbt CLI resource, which builds on a Spark cluster (thrift/http; DuckDB and
    the local Spark session build in the step's process, :func:`build_in_process`), without two
    start-up costs it pays before every ``dbt build``, which this project does not need:

    * the dbt version, which dagster-dbt reads by running ``dbt --version`` (a second dbt
      start-up, a few seconds, and a request to PyPI for the latest dbt-core and each adapter):
      for the dbt beside this Python (``project.dbt_executable``) it is the installed dbt-core's;
      any other executable is still asked;
    * a dbt Core adapter built in this process (the profile, the project and every macro loaded),
      which dagster-dbt only uses to fetch row counts or column metadata after the build: the
      assets ask for neither (``fetch_row_counts`` / ``fetch_column_metadata``).

    Everything else (the arguments, the environment, the event stream) is dagster-dbt's.
    ``tests/test_dbt_resource.py`` fails if dagster-dbt renames the two members overridden here.
    """

    @cached_property
    def _cli_version(self) -> Version:
        if Path(self.dbt_executable) == Path(sys.executable).with_name("dbt"):
            return Version(importlib.metadata.version("dbt-core"))
        return super()._cli_version

    def _initialize_dbt_core_adapter(self, args):
        return None


def policy_gate(catalog: Catalog) -> None:
    """Evaluate the privacy policy on the compiled SQL's column lineage; on any violation fail
    before dbt writes anything, with every violation in the UI."""
    verdict = catalog.verdict()
    if verdict.ok:
        return
    lines = [v.to_text() for v in verdict.violations]
    raise dg.Failure(
        description=(
            f"privacy policy violated: {len(lines)} violation(s), nothing was built. "
            "Fix the models (run `catalog check` for details):\n" + "\n".join(lines)
        ),
        metadata={"violations": dg.MetadataValue.json(verdict.to_json()["violations"])},
        allow_retries=False,
    )


def in_process(target: str | None) -> bool:
    """True when dbt runs in this process (:func:`build_in_process`): on DuckDB, and on the
    local Spark session, which holds the keyed-hash UDF (see dagster_project/spark.py). A Spark
    cluster (thrift/http) runs through dagster-dbt's dbt CLI."""
    return not is_spark(target) or spark_method() == "session"


def build_in_process(
    context: dg.AssetExecutionContext,
    project: DbtProject,
    translator: FjordbankTranslator,
    run_target: Path,
    args: list[str],
):
    """``dbt <args>`` in this process (``project.run_dbt``), the nodes' results streamed as
    Dagster events while it runs: the selection dagster-dbt's CLI resource would pass for the
    assets and checks of this step, and the conversion its ``stream()`` applies to the CLI's
    JSON log lines. dbt runs in a thread of its own; this generator yields its events as they
    come. A failed node, or dbt failing, fails the step with the errors dbt logged."""
    from dagster_dbt.asset_utils import (
        extract_runtime_selection_from_args,
        get_updated_cli_invocation_params_for_context,
    )
    from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage

    cleaned, selects, excludes = extract_runtime_selection_from_args(args)
    params = get_updated_cli_invocation_params_for_context(
        context=context,
        manifest={},  # replaced by the manifest of the step's assets definition
        dagster_dbt_translator=translator,
        runtime_selects=selects,
        runtime_excludes=excludes,
    )
    dbt_args = [*cleaned, *params.selection_args]
    if params.indirect_selection:
        dbt_args += ["--indirect-selection", params.indirect_selection]
    # A large selection is a generated selector in a copy of the project (dagster-dbt's; it
    # never removes the copy): removed here once the build has ended.
    project_dir = Path(params.dbt_project.project_dir) if params.dbt_project else DBT_PROJECT_DIR
    copied = project_dir.resolve() != Path(project.project_dir).resolve()
    try:
        context.log.info(f"Running dbt in this process: dbt {' '.join(dbt_args)}")

        events: queue.SimpleQueue = queue.SimpleQueue()
        outcome: dict[str, object] = {}

        def work() -> None:
            try:
                outcome["ok"], outcome["exception"] = run_dbt(
                    dbt_args, target_path=run_target, project_dir=project_dir, on_event=events.put
                )
            except BaseException as exc:  # handed to the step's thread below
                outcome["ok"], outcome["exception"] = False, exc
            finally:
                events.put(None)

        worker = threading.Thread(target=work, name="dbt", daemon=True)
        worker.start()
        errors: list[dict] = []
        while (raw := events.get()) is not None:
            if raw["info"].get("level") == "error":
                errors.append(raw)
            event = DbtCoreCliEventMessage(raw_event=raw, event_history_metadata={})
            yield from event.to_default_asset_events(
                manifest=params.manifest,
                dagster_dbt_translator=params.dagster_dbt_translator,
                context=context,
                target_path=run_target,
                project=params.dbt_project,
            )
        worker.join()
        context.log.info(f"Finished dbt in this process: dbt {' '.join(cleaned)}")
        if not outcome.get("ok"):
            messages = [str(e["info"]["msg"]).strip() for e in errors if e["info"].get("msg")]
            if outcome.get("exception") is not None:
                messages.append(" ".join(str(outcome["exception"]).split()))
            lines = list(failure_lines(errors)) or messages[-1:] or ["no error was logged"]
            raise dg.Failure(
                description=f"dbt {cleaned[0]} failed: {lines[0]}; see {run_target / 'dbt.log'}"
                + "".join(f"\n\n{m}" for m in messages[:_ERRORS_SHOWN] if m != lines[0]),
                metadata={"errors": dg.MetadataValue.json(messages[:50])},
            )
    finally:
        if copied:
            shutil.rmtree(project_dir, ignore_errors=True)


# dbt's error messages (the failed node's line, then its error in full) in a failure's text
_ERRORS_SHOWN = 20


def withhold_governed_outputs(
    context: dg.AssetExecutionContext, project: DbtProject, warehouse: Warehouse
) -> list[str]:
    """The ``--exclude`` arguments that leave out the outputs governed by restricting privacy
    events the ingest could not apply, after dropping their existing relations
    (``assets/withheld.py``); [] when every event was applied. On Spark the relations cannot be
    dropped here, so nothing is built (fail closed)."""
    try:
        with warehouse.connect() as conn:
            plan = plan_withholding(conn, Path(project.manifest_path))
            if not plan:
                return []
            if is_spark(project.target):
                raise dg.Failure(
                    description=f"{plan.summary()}. On the Spark target the withheld outputs "
                    "cannot be withdrawn, so nothing was built; deliver the events again "
                    "correctly, or run on DuckDB",
                    allow_retries=False,
                )
            dropped = withhold(conn, plan)
    except ValueError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    context.log.warning(
        f"{plan.summary()}. Relations dropped: {', '.join(dropped) or 'none existed'}"
    )
    return ["--exclude", " ".join(plan.selectors)]


def build_dbt_assets(
    project: DbtProject, catalog: Catalog, *, manifest_read_at: float | None = None
) -> dg.AssetsDefinition:
    """The dbt build as Dagster assets (dagster-dbt), the policy gate first: the ``catalog``
    read from the project's compiled manifest, which the step requires unchanged since
    ``manifest_read_at`` (its mtime when the catalog read it; default: now), the project's
    files too."""
    if manifest_read_at is None:
        manifest_read_at = Path(project.manifest_path).stat().st_mtime
    translator = FjordbankTranslator(
        catalog,
        settings=DagsterDbtTranslatorSettings(
            enable_asset_checks=True, enable_code_references=True
        ),
    )

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        dagster_dbt_translator=translator,
        name="fjordbank_dbt",
    )
    def fjordbank_dbt(
        context: dg.AssetExecutionContext,
        dbt: DbtCoreCliResource,
        warehouse: Warehouse,
        openlineage: OpenLineageResource,
    ):
        checked_at = dt.datetime.now(dt.UTC).isoformat()
        if manifest_stale(Path(project.manifest_path), read_at=manifest_read_at):
            # dbt parses the project again when it builds: a file changed since this run's
            # definitions read the manifest the gate checks would be built unchecked
            raise dg.Failure(
                description=(
                    f"the dbt project ({DBT_PROJECT_DIR}) changed after this run compiled and "
                    "checked its SQL; nothing was built: launch the run again, which compiles "
                    "and checks the changed project"
                ),
                allow_retries=False,
            )
        policy_gate(catalog)
        context.log.info(
            f"privacy policy holds on the compiled SQL ({len(catalog.graph.nodes)} nodes checked)"
        )
        exclude = withhold_governed_outputs(context, project, warehouse)
        # The build writes its own artifacts beside (not over) the compiled manifest that the
        # lineage and the gate read; one stable folder, so dbt's partial parsing is reused.
        run_target = project.target_path / "build"
        try:
            from dagster_project.assets.ingest import full_refresh_requested

            # `fjordbank run --full-refresh`: the incremental event models rebuilt in full
            full = ["--full-refresh"] if full_refresh_requested(context.run.tags) else []
            args = ["build", *full, *exclude]
            if in_process(project.target):
                yield from build_in_process(context, project, translator, run_target, args)
            else:
                yield from dbt.cli(args, context=context, target_path=run_target).stream()
        finally:
            if (run_target / "run_results.json").exists():
                with openlineage.emitter(context.log) as emitter:
                    emit_dbt_build(
                        emitter,
                        run_target,
                        parent=openlineage.parent(context),
                        warehouse=Path(warehouse.path),
                        project_dir=DBT_PROJECT_DIR,
                        namespace=openlineage.namespace,
                        nominal_time=nominal_time_of(context.run.tags),
                        verdict=policy_verdict_facet([], checked_at=checked_at),
                        catalog=catalog,
                    )

    return fjordbank_dbt
