"""The quiet console of `fjordbank run` (dagster_project/progress.py) on small in-process jobs:
a few lines per phase when stdout is no terminal, every event in the log file, a failed step's
one-line reason."""

import dagster as dg

from dagster_project.progress import RunProgress


def _job(fail: bool) -> dg.JobDefinition:
    @dg.asset(key=["raw_bank", "customers"])
    def ingest(context: dg.AssetExecutionContext) -> None:
        for i in range(50):
            context.log.debug(f"detail line {i}")  # the kind of line that must stay off screen
        context.log.warning("3 of 300 rows quarantined")

    @dg.asset(deps=[ingest])
    def register() -> None:
        if fail:
            raise dg.Failure(description="the warehouse is full\nsecond line of detail")

    @dg.asset(deps=[register])
    def report() -> None:
        pass

    @dg.multi_asset_check(
        specs=[dg.AssetCheckSpec(name, asset=report) for name in ("holds", "also_holds")]
    )
    def row_checks():
        for name in ("holds", "also_holds"):
            yield dg.AssetCheckResult(asset_key=report.key, check_name=name, passed=True)

    return dg.Definitions(
        assets=[ingest, register, report], asset_checks=[row_checks]
    ).resolve_implicit_global_asset_job_def()


def _run(tmp_path, fail: bool) -> tuple[RunProgress, list[str], bool]:
    lines: list[str] = []
    phases = {"raw_bank__customers": "ingest", "register": "prepare", "report": "prepare"}
    progress = RunProgress(
        tmp_path / "logs" / "run.log",
        phase_of=lambda step: phases.get(step, "checks"),
        totals={"ingest": 1, "prepare": 2, "checks": 2},
        interactive=False,
        echo=lines.append,
    )
    job = _job(fail)
    with progress:
        job = job.with_logger_defs({"fjordbank_progress": progress.logger_definition()})
        with dg.DagsterInstance.ephemeral() as instance:
            result = job.execute_in_process(
                instance=instance,
                raise_on_error=False,
                run_config={"loggers": {"fjordbank_progress": {}}},
            )
    return progress, lines, result.success


def test_a_few_lines_on_the_console_everything_in_the_log(tmp_path):
    progress, lines, ok = _run(tmp_path, fail=False)
    assert ok
    assert [line.split(" (")[0] for line in lines] == [
        "ingest: 0/1 tables",
        "  raw_bank__customers: 3 of 300 rows quarantined",
        "ingest: 1/1 tables done",
        "prepare: 0/2 steps",
        "prepare: 1/2 steps",
        "prepare: 2/2 steps done",
        # one step, a line per check it evaluated
        "checks: 0/2 checks",
        "checks: 1/2 checks",
        "checks: 2/2 checks done",
    ]
    log = progress.log_path.read_text()
    assert "detail line 49" in log
    assert "STEP_SUCCESS" in log and "RUN_SUCCESS" in log
    assert progress.failures == []


def test_a_failed_step_gives_its_one_line_reason(tmp_path):
    progress, lines, ok = _run(tmp_path, fail=True)
    assert not ok
    assert progress.failures == [("register", "the warehouse is full")]
    assert lines[-1].startswith("prepare: 1/2 steps FAILED")
    assert not [line for line in lines if "report" in line]  # the skipped step: log only
    assert "Dependencies for step report failed" in progress.log_path.read_text()
    assert "STEP_FAILURE" in progress.log_path.read_text()
