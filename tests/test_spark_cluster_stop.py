"""``spark_cluster.stop`` stops a daemon that ignores spark-daemon.sh's SIGTERM (one started
from a shell that ignores it): killed, not reported stopped while it runs on. The daemon here
is a plain Python process in its place; spark-daemon.sh's stop is its SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from dagster_project import spark_cluster


def test_a_daemon_that_ignores_sigterm_is_killed(tmp_path, monkeypatch):
    daemon = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, sys, time\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "print('ready', flush=True)\n"
            "time.sleep(120)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert daemon.stdout.readline().strip() == "ready"  # SIGTERM ignored from here on
        cluster = spark_cluster.Cluster(root=tmp_path, workers=0)
        master = spark_cluster.MASTER_CLASS
        monkeypatch.setattr(
            spark_cluster,
            "_pid",
            lambda c, cls, n: daemon.pid if cls == master and daemon.poll() is None else None,
        )
        terms = []

        def sigterm(c, action, cls, n, *args):
            terms.append((action, cls, n))
            os.kill(daemon.pid, signal.SIGTERM)
            return ""

        monkeypatch.setattr(spark_cluster, "_daemon", sigterm)
        stopped = spark_cluster.stop(cluster)
        assert terms == [("stop", master, 1)]
        assert stopped == [f"master 1 (pid {daemon.pid})"]
        assert daemon.wait(5) == -signal.SIGKILL
    finally:
        if daemon.poll() is None:
            daemon.kill()
