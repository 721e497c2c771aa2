"""The lineage page over HTTP next to `make ui` (dagster_project/ui.py): a real server on
127.0.0.1 that serves the reports folder and nothing else, the asset links that point at it,
the port-taken error, and both processes stopping together."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from catalog.cli import main as catalog_main
from catalog.settings import REPO_ROOT
from dagster_project.translator import FjordbankTranslator
from dagster_project.ui import (
    PortTakenError,
    lineage_page_http_url,
    serve,
    start_reports_server,
)


def _embedded_data(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="lineage-data">(.*?)</script>', html, re.S)
    assert m, "the page has no embedded data"
    return json.loads(m.group(1))


@pytest.fixture
def reports(mini_manifest_path: Path, tmp_path: Path) -> Path:
    """``<data dir>/reports`` holding the mini project's page, with the data dir beside it."""
    out = tmp_path / "data" / "reports" / "lineage.html"
    result = CliRunner().invoke(
        catalog_main, ["report", "--manifest", str(mini_manifest_path), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out.parent


@pytest.fixture
def server(reports: Path):
    srv, thread = start_reports_server(reports, 0)
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=5)


def _get(port: int, path: str, *, method: str = "GET", host: str | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    headers = {"Host": host} if host else {}
    conn.request(method, path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response, body


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_page_is_served_on_localhost(server, reports):
    host, port = server.server_address
    assert host == "127.0.0.1"
    with urllib.request.urlopen(lineage_page_http_url(port)) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/html"
        assert response.headers["Cache-Control"] == "no-store"
        assert response.read() == (reports / "lineage.html").read_bytes()
    response, _ = _get(port, "/")
    assert response.status == 302 and response.headers["Location"] == "/lineage.html"
    # a rewritten page is served as it is now
    (reports / "lineage.html").write_text("<!doctype html><title>new</title>")
    assert _get(port, "/lineage.html")[1] == b"<!doctype html><title>new</title>"


def test_only_the_files_of_the_reports_folder_are_served(server, reports, tmp_path):
    port = server.server_address[1]
    data = reports.parent
    (data / "warehouse.duckdb").write_text("secret")
    (data / "secrets").mkdir()
    (data / "secrets" / "pseudonym.key").write_text("key")
    (reports / "sub").mkdir()
    (reports / "sub" / "x.html").write_text("x")
    (reports / ".hidden").write_text("x")
    (reports / "link.html").symlink_to(data / "warehouse.duckdb")
    (reports / "sweep-2026-12-06.json").write_text("{}")
    assert _get(port, "/sweep-2026-12-06.json")[0].status == 200
    for path in (
        "/../warehouse.duckdb",
        "/%2e%2e/warehouse.duckdb",
        "/..%2fwarehouse.duckdb",
        "/../secrets/pseudonym.key",
        "/sub/x.html",
        "/sub/",
        "/.hidden",
        "/link.html",
        "/nothing.html",
    ):
        response, body = _get(port, path)
        assert response.status == 404, path
        assert b"secret" not in body and b"key" not in body
    # no listing of any folder
    assert b"sweep-2026" not in _get(port, "/sub/")[1]
    # only GET and HEAD, only to 127.0.0.1 / localhost (no DNS rebinding)
    assert _get(port, "/lineage.html", method="POST")[0].status == 501
    assert _get(port, "/lineage.html", method="HEAD")[0].status == 200
    assert _get(port, "/lineage.html", host=f"localhost:{port}")[0].status == 200
    assert _get(port, "/lineage.html", host=f"evil.example:{port}")[0].status == 403


def test_a_missing_page_says_how_to_write_it(tmp_path):
    srv, _thread = start_reports_server(tmp_path / "reports", 0)
    try:
        response, body = _get(srv.server_address[1], "/lineage.html")
    finally:
        srv.shutdown()
        srv.server_close()
    assert response.status == 404
    assert b"Run `make run` or `catalog report`, then reload this page." in body


def test_the_asset_link_is_http_and_opens_the_page_on_its_dataset(
    server, reports, mini_catalog, mini_manifest_path, monkeypatch
):
    port = server.server_address[1]
    monkeypatch.setenv("FJORDBANK_DATA_DIR", str(reports.parent))
    monkeypatch.setenv("FJORDBANK_LINEAGE_PORT", str(port))
    manifest = json.loads(mini_manifest_path.read_text())
    translator = FjordbankTranslator(catalog=mini_catalog)
    html = (reports / "lineage.html").read_text()
    labels = {n["label"] for n in _embedded_data(html)["nodes"]}
    checked = 0
    for unique_id in (
        "model.fjordbank.marketing_features",
        "model.fjordbank.int_investments_consented",
    ):
        spec = translator.get_asset_spec(manifest, unique_id, None)
        url = spec.metadata["fjordbank/lineage_page"].value
        page, _, anchor = url.partition("#")
        assert page == f"http://127.0.0.1:{port}/lineage.html"
        assert anchor == unique_id.rsplit(".", 1)[1]
        assert anchor in labels  # the page has the dataset the fragment names (fromHash)
        with urllib.request.urlopen(url) as response:  # the fragment stays in the browser
            assert response.status == 200 and response.read().decode() == html
        checked += 1
    assert checked == 2


def test_a_taken_port_is_one_line_and_nothing_starts(reports, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("FJORDBANK_DATA_DIR", str(reports.parent))
    marker = tmp_path / "started"
    command = [sys.executable, "-c", f"open({str(marker)!r}, 'w')"]
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        with pytest.raises(PortTakenError):
            start_reports_server(reports, taken)
        assert serve(_free_port(), taken, command=command) == 2
        err = capsys.readouterr().err
        assert err == (
            f"error: port {taken} on 127.0.0.1 is taken (the lineage page's server): stop what "
            "holds it, or set FJORDBANK_LINEAGE_PORT to a free port\n"
        )
        # Dagster's own port, checked before anything starts
        assert serve(taken, _free_port()) == 2
        assert capsys.readouterr().err == (
            f"error: port {taken} on 127.0.0.1 is taken (another `make ui`?): stop what holds "
            "it, or choose another with `fjordbank ui --port N`\n"
        )
    monkeypatch.setenv("FJORDBANK_LINEAGE_PORT", "http")
    assert serve(_free_port(), command=command) == 2
    assert capsys.readouterr().err == (
        "error: FJORDBANK_LINEAGE_PORT='http': expected a TCP port, a whole number 1-65535\n"
    )
    assert not marker.exists()


# A stand-in for `dagster dev`: records its pid, and on SIGTERM that it stopped.
_FAKE_DAGSTER = textwrap.dedent(
    """
    import os, signal, sys, time
    out = sys.argv[1]
    def stop(signum, frame):
        open(out + ".stopped", "w").write(str(signum))
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    open(out + ".pid", "w").write(str(os.getpid()))
    if len(sys.argv) > 2:
        sys.exit(int(sys.argv[2]))
    while True:
        time.sleep(0.1)
    """
)


def _start_serve(tmp_path: Path, lineage_port: int, *fake_args: str) -> subprocess.Popen:
    out = tmp_path / "fake"
    code = (
        "import sys; from dagster_project.ui import serve; "
        f"raise SystemExit(serve(1, {lineage_port}, command=[sys.executable, '-c', "
        f"{_FAKE_DAGSTER!r}, {str(out)!r}, *{list(fake_args)!r}]))"
    )
    env = {**os.environ, "FJORDBANK_DATA_DIR": str(tmp_path / "data")}
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _answers(port: int) -> bool:
    try:
        return _get(port, "/lineage.html")[0].status in (200, 404)
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_both_stop_together_on_ctrl_c_or_sigterm(tmp_path, sig):
    port = _free_port()
    proc = _start_serve(tmp_path, port)
    pid_file = tmp_path / "fake.pid"
    _wait_for(lambda: pid_file.exists() and pid_file.read_text() != "" and _answers(port))
    fake_pid = int(pid_file.read_text())
    assert os.getpgid(fake_pid) == fake_pid  # its own group: one signal, from serve
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert out.startswith(f"lineage page:  http://127.0.0.1:{port}/lineage.html  (serving ")
    assert (tmp_path / "fake.stopped").read_text() == str(int(signal.SIGTERM))
    _wait_for(lambda: not _alive(fake_pid), 5)
    assert not _answers(port)


def test_when_dagster_stops_by_itself_the_server_stops_with_its_exit_code(tmp_path):
    port = _free_port()
    proc = _start_serve(tmp_path, port, "3")
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 3, err
    assert not _answers(port)


_ASSET_LINK_QUERY = """
query {
  assetNodes(assetKeys: [{path: ["marketing_scoring_features"]}]) {
    metadataEntries { label ... on UrlMetadataEntry { url } }
  }
}
"""


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _asset_link(port: int) -> str | None:
    try:
        nodes = _graphql(port, _ASSET_LINK_QUERY)["data"]["assetNodes"]
    except (OSError, KeyError, TypeError, ValueError):
        return None
    for node in nodes or []:
        for entry in node["metadataEntries"]:
            if entry["label"] == "fjordbank/lineage_page":
                return entry["url"]
    return None


@pytest.mark.slow
def test_make_ui_runs_dagster_dev_beside_the_page_and_stops_both(tmp_path):
    """The real `dagster dev`: its asset link points at the server on the chosen port, the page
    answers there, and SIGTERM stops the webserver, the daemon and the server."""
    port, lineage_port = _free_port(), _free_port()
    data = tmp_path / "data"
    (data / "reports").mkdir(parents=True)
    (data / "reports" / "lineage.html").write_text("<!doctype html><title>lineage</title>")
    home = data / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {
        **os.environ,
        "FJORDBANK_DATA_DIR": str(data),
        "DAGSTER_HOME": str(home),
        "FJORDBANK_PSEUDONYM_KEY": "test-key",
        "DAGSTER_DISABLE_TELEMETRY": "true",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    code = f"from dagster_project.ui import serve; raise SystemExit(serve({port}, {lineage_port}))"
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=tmp_path,  # dagster dev still finds workspace.yaml at the repository root
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for(lambda: _asset_link(port) is not None or proc.poll() is not None, 300)
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        link = _asset_link(port)
        assert link == lineage_page_http_url(lineage_port, "marketing_scoring_features")
        with urllib.request.urlopen(link) as response:
            assert b"<title>lineage</title>" in response.read()
        children = [
            int(p.name)
            for p in Path("/proc").iterdir()
            if p.name.isdigit() and _ppid(p) == proc.pid
        ]
        [dagster_dev] = children
        assert os.getpgid(dagster_dev) == dagster_dev
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert "Dagster services shut down." in output
    # the webserver, the daemon and the code servers are gone too (zombies are dead: they wait
    # only for the reaper that adopted them)
    _wait_for(lambda: _running_in_group(dagster_dev) == [], 15)
    assert not _answers(lineage_port)
    with pytest.raises(OSError):
        _graphql(port, "{ __typename }")


def _ppid(proc_dir: Path) -> int | None:
    try:
        stat = (proc_dir / "stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def _running_in_group(pgid: int) -> list[int]:
    """The processes of a process group that are not zombies."""
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                fields = (p / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == pgid and fields[0] != "Z":
                out.append(int(p.name))
    return out
