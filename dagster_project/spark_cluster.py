"""A Spark standalone cluster on this machine: one master and two workers on 127.0.0.1.

``make spark-cluster`` / ``make spark-cluster-stop`` (``python -m dagster_project.spark_cluster
start|stop|status``). The daemons are started with the pyspark wheel's own ``sbin/spark-daemon.sh``
(the wheel ships no ``start-master.sh``/``start-worker.sh``; ``spark-daemon.sh start
org.apache.spark.deploy.master.Master`` is what those scripts call), so nothing is downloaded.
Everything lives under ``<data dir>/spark-cluster``: pid files, daemon logs (``logs/``), each
worker's work dir (``work-<n>/``, executor logs) and an empty conf dir (no stray
``spark-defaults.conf``). Every port and web UI is bound to 127.0.0.1 (``SPARK_LOCAL_IP``); the
master's web UI (default port 8080) also serves ``/json/``, which :func:`status` reads.

Each worker offers one core and a little memory, so two fit on a two-core machine next to the
driver (the platform's own process, dbt-spark's ``session`` method):
``FJORDBANK_SPARK_MASTER=spark://127.0.0.1:7077 make run TARGET=spark``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from catalog.settings import settings

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
HOST = "127.0.0.1"
IDENT = "fjordbank"


class ClusterError(RuntimeError):
    """The cluster cannot be started or reached (one line, says what to do)."""


@dataclass(frozen=True)
class Cluster:
    """Where a cluster lives and how it is laid out."""

    root: Path
    port: int = 7077
    webui_port: int = 8080
    workers: int = 2
    worker_cores: int = 1
    worker_memory: str = "1g"
    daemon_memory: str = "512m"

    @property
    def master_url(self) -> str:
        return f"spark://{HOST}:{self.port}"

    @property
    def json_url(self) -> str:
        return f"http://{HOST}:{self.webui_port}/json/"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    def work_dir(self, n: int) -> Path:
        return self.root / f"work-{n}"


def default_cluster(**options) -> Cluster:
    """The cluster of the platform's data dir (``<data dir>/spark-cluster``)."""
    return Cluster(root=settings().data_dir / "spark-cluster", **options)


def spark_home() -> Path:
    """The pyspark wheel's directory (its ``bin/`` and ``sbin/``)."""
    try:
        import pyspark
    except ImportError:
        raise ClusterError(
            "the spark extra is not installed: run make spark-venv (or pip install -e '.[spark]')"
        ) from None
    home = Path(pyspark.__file__).parent
    if not (home / "sbin" / "spark-daemon.sh").is_file():
        raise ClusterError(f"{home}/sbin/spark-daemon.sh is missing: reinstall pyspark")
    return home


def _env(cluster: Cluster) -> dict[str, str]:
    home = spark_home()
    conf_dir = cluster.root / "conf"
    conf_dir.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "SPARK_HOME": str(home),
        "SPARK_CONF_DIR": str(conf_dir),
        "SPARK_LOG_DIR": str(cluster.log_dir),
        "SPARK_PID_DIR": str(cluster.root),
        "SPARK_IDENT_STRING": IDENT,
        "SPARK_LOCAL_IP": HOST,
        "SPARK_LOCAL_HOSTNAME": HOST,
        "SPARK_DAEMON_MEMORY": cluster.daemon_memory,
        "SPARK_NICENESS": "10",  # the daemons yield to the driver and to other work
        # no REST submission server (port 6066): the platform's driver is its own process
        "SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false",
    }


def _daemon(cluster: Cluster, action: str, cls: str, instance: int, *args: str) -> str:
    done = subprocess.run(
        ["bash", str(spark_home() / "sbin" / "spark-daemon.sh"), action, cls, str(instance), *args],
        env=_env(cluster),
        capture_output=True,
        text=True,
        check=False,
    )
    out = (done.stdout + done.stderr).strip()
    if done.returncode != 0 or "failed to launch" in out:
        raise ClusterError(f"{cls.rsplit('.', 1)[-1]} {instance}: {out.splitlines()[-1:]}")
    return out


def _pid(cluster: Cluster, cls: str, instance: int) -> int | None:
    path = cluster.root / f"spark-{IDENT}-{cls}-{instance}.pid"
    try:
        pid = int(path.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((HOST, port)) != 0


def master_state(cluster: Cluster, timeout: float = 2.0) -> dict | None:
    """The master's ``/json/`` (workers, applications), or None when it does not answer."""
    try:
        with urllib.request.urlopen(cluster.json_url, timeout=timeout) as response:
            return json.load(response)
    except (urllib.error.URLError, OSError, ValueError):
        return None


def alive_workers(state: dict | None) -> list[dict]:
    return [w for w in (state or {}).get("workers", []) if w.get("state") == "ALIVE"]


def start(cluster: Cluster, timeout: float = 90.0) -> dict:
    """Start the master and the workers (those not already running) and wait until every worker
    has registered. Returns the master's state; raises :class:`ClusterError` (one line)."""
    cluster.log_dir.mkdir(parents=True, exist_ok=True)
    if _pid(cluster, MASTER_CLASS, 1) is None:
        for port in (cluster.port, cluster.webui_port):
            if not _port_free(port):
                raise ClusterError(
                    f"port {port} on {HOST} is taken by another program: stop it, or choose "
                    "other ports (--port/--webui-port)"
                )
        _daemon(
            cluster,
            "start",
            MASTER_CLASS,
            1,
            *("--host", HOST, "--port", str(cluster.port)),
            *("--webui-port", str(cluster.webui_port)),
        )
    for n in range(1, cluster.workers + 1):
        if _pid(cluster, WORKER_CLASS, n) is None:
            cluster.work_dir(n).mkdir(parents=True, exist_ok=True)
            _daemon(
                cluster,
                "start",
                WORKER_CLASS,
                n,
                *("--host", HOST, "--webui-port", "0"),
                *("--cores", str(cluster.worker_cores), "--memory", cluster.worker_memory),
                *("--work-dir", str(cluster.work_dir(n))),
                cluster.master_url,
            )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = master_state(cluster)
        if len(alive_workers(state)) >= cluster.workers:
            return state
        time.sleep(1)
    stop(cluster)
    raise ClusterError(
        f"the workers did not register with {cluster.master_url} within {timeout:.0f} s "
        f"(stopped again): see the logs in {cluster.log_dir}"
    )


def stop(cluster: Cluster) -> list[str]:
    """Stop the workers and the master this data dir started (by their pid files). Returns what
    was stopped; stopping a stopped cluster is not an error."""
    stopped = []
    daemons = [(WORKER_CLASS, n) for n in range(cluster.workers, 0, -1)]
    # workers started earlier with a larger --workers are stopped too
    daemons += [
        (WORKER_CLASS, int(p.stem.rsplit("-", 1)[1]))
        for p in cluster.root.glob(f"spark-{IDENT}-{WORKER_CLASS}-*.pid")
        if int(p.stem.rsplit("-", 1)[1]) > cluster.workers
    ]
    for cls, n in [*daemons, (MASTER_CLASS, 1)]:
        pid = _pid(cluster, cls, n)
        if pid is None:
            continue
        _daemon(cluster, "stop", cls, n)
        if not _gone(pid, 10.0):
            # spark-daemon.sh stops with SIGTERM, which a daemon started from a shell that
            # ignores it (a background job's) never receives: it would run on, unseen
            os.kill(pid, signal.SIGKILL)
            if not _gone(pid, 5.0):
                raise ClusterError(f"{cls.rsplit('.', 1)[-1]} {n} (pid {pid}) did not stop")
        stopped.append(f"{cls.rsplit('.', 1)[-1].lower()} {n} (pid {pid})")
    return stopped


def _gone(pid: int, seconds: float) -> bool:
    """True once process ``pid`` has ended (an ended process its parent has not reaped yet
    counts), waiting up to ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            os.kill(pid, 0)
        except OSError:
            return True
        try:  # Linux: the state after the command's closing parenthesis; Z is a zombie
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return True
        except (OSError, IndexError):
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def status(cluster: Cluster) -> str:
    """One line: the master URL and its alive workers, or that no cluster runs."""
    master = _pid(cluster, MASTER_CLASS, 1)
    if master is None:
        return f"no Spark cluster runs from {cluster.root}"
    state = master_state(cluster)
    if state is None:
        return f"master pid {master} runs but {cluster.json_url} does not answer"
    workers = alive_workers(state)
    cores = sum(w.get("cores", 0) for w in workers)
    apps = len(state.get("activeapps", []))
    return (
        f"{cluster.master_url}: {len(workers)} workers alive ({cores} cores), "
        f"{apps} running applications, web UI http://{HOST}:{cluster.webui_port}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dagster_project.spark_cluster",
        description="A Spark standalone master and workers on 127.0.0.1 (data dir: spark-cluster/)",
    )
    parser.add_argument("action", choices=("start", "stop", "status"))
    parser.add_argument("--port", type=int, default=7077, help="the master's port")
    parser.add_argument("--webui-port", type=int, default=8080, help="the master's web UI")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-cores", type=int, default=1)
    parser.add_argument("--worker-memory", default="1g")
    args = parser.parse_args(argv)
    cluster = default_cluster(
        port=args.port,
        webui_port=args.webui_port,
        workers=args.workers,
        worker_cores=args.worker_cores,
        worker_memory=args.worker_memory,
    )
    try:
        if args.action == "start":
            start(cluster)
            print(status(cluster))
            print(f"use it: FJORDBANK_SPARK_MASTER={cluster.master_url} make run TARGET=spark")
        elif args.action == "stop":
            stopped = stop(cluster)
            print("stopped " + ", ".join(stopped) if stopped else "no Spark cluster was running")
        else:
            line = status(cluster)
            print(line)
            return 0 if line.startswith("spark://") else 1
    except ClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
