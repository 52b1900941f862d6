"""SIGTERM (CodeBuild's timeout) and SIGINT stop `scan` and `pull` cleanly, on real processes.

Each test starts `deployscan` as a subprocess against something slow (a hanging scanner double,
a registry that stalls mid-blob), signals it once it is busy, and checks that it exits 3 with
one line, that no child is left running, and that nothing it created is left behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from scanner_runner.devtools import imagebuild
from tests.registry.hostile import Handler, Hostile
from tests.runner.archives import Archive
from tests.runner.conftest import DOUBLE, SENTINEL_TOKEN

DEPLOYSCAN = str(Path(sys.executable).with_name("deployscan"))
STALLED_AFTER = 256 * 1024
BIG = 4 * 1024 * 1024


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def start(args: list[str], tmp_path: Path, **extra: str) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env |= {
        "TMPDIR": str(tmp_path / "tmp"),
        "QSCANNER_PATH": str(DOUBLE),
        "QUALYS_POD": "US1",
        "QUALYS_ACCESS_TOKEN": SENTINEL_TOKEN,
        "QSCANNER_DOUBLE_SCENARIO": "hang",
        "QSCANNER_DOUBLE_RECORD": str(tmp_path / "double-calls.jsonl"),
        "SCANNER": "qscanner",
        "CI": "true",
        **extra,
    }
    for name in ("RESULTS_S3_BUCKET", "SCAN_CACHE_TABLE", "SNS_TOPIC_ARN", "POLICY_IGNORE"):
        env.pop(name, None)
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return subprocess.Popen(
        [DEPLOYSCAN, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(proc: subprocess.Popen[str], signum: int) -> tuple[int, str]:
    proc.send_signal(signum)
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError("deployscan did not stop within 20 s of the signal") from None
    return proc.returncode, err


def assert_gone(pids: set[int]) -> None:
    def gone() -> bool:
        alive = [p for p in pids if psutil.pid_exists(p)]
        return all(psutil.Process(p).status() == psutil.STATUS_ZOMBIE for p in alive)

    wait_for(gone, f"processes {sorted(pids)} to end", timeout=5)


@pytest.fixture
def leftovers() -> Iterator[set[int]]:
    """Pids a test saw; whatever still runs at teardown is killed (so a failure leaks nothing)."""
    pids: set[int] = set()
    yield pids
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            psutil.Process(pid).kill()


@pytest.fixture
def stalling(tmp_path: Path) -> Iterator[tuple[Hostile, imagebuild.Image]]:
    """A registry serving an image whose big layer stalls after STALLED_AFTER bytes."""
    big = imagebuild.layer({"big.bin": os.urandom(BIG)}, level=0)
    small = imagebuild.layer({"etc/os-release": b"ID=test\n"})
    img = imagebuild.image([small, big])
    release = threading.Event()

    def stall(handler: Handler) -> None:
        assert big.data is not None
        handler.send_response(200)
        handler.send_header("Content-Length", str(big.size))
        handler.end_headers()
        handler.wfile.write(big.data[:STALLED_AFTER])
        handler.wfile.flush()
        release.wait(60)

    with Hostile() as server:
        server.serve_image("team/slow", img)
        server.routes[f"/v2/team/slow/blobs/{big.digest}"] = stall
        yield server, img
        release.set()


def test_sigterm_stops_a_pull_and_leaves_no_part_file(
    tmp_path: Path, stalling: tuple[Hostile, imagebuild.Image]
) -> None:
    server, img = stalling
    out = tmp_path / "out"
    out.mkdir()
    ref = f"{server.host}/team/slow:1"
    proc = start(["pull", ref, "-o", str(out / "slow.tar"), "--insecure-registry", server.host],
                 tmp_path)  # fmt: skip
    wait_for(lambda: any(p.name.endswith(".part") for p in out.iterdir()), "the .part file")
    wait_for(lambda: img.layers[1].digest in " ".join(server.paths()), "the stalled blob")
    started = time.monotonic()
    code, err = stop(proc, signal.SIGTERM)
    assert list(out.iterdir()) == []  # no .part file
    assert time.monotonic() - started < 10  # not the 60 s read timeout
    assert code == 3, err
    assert err.strip() == "deployscan pull: error: interrupted by SIGTERM; stopped"


@pytest.mark.parametrize(
    ("signum", "name"), [(signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "SIGINT")]
)
def test_a_signal_stops_the_scanner_group_and_removes_what_the_scan_created(
    tmp_path: Path, oci_archive: Archive, leftovers: set[int], signum: int, name: str
) -> None:
    out = tmp_path / "out"
    proc = start(["scan", "--archive", str(oci_archive.path), "--output-dir", str(out)], tmp_path)
    me = psutil.Process(proc.pid)
    wait_for((tmp_path / "double-calls.jsonl").exists, "the scanner double to start")
    children = {p.pid for p in me.children(recursive=True)}
    leftovers.update(children)
    assert children  # the double, in its own session
    assert list((tmp_path / "tmp").glob("deployscan-*"))
    code, err = stop(proc, signum)
    assert_gone(children)
    assert list((tmp_path / "tmp").iterdir()) == []  # no deployscan-* temp directory
    assert sorted(p.name for p in out.iterdir()) == [".deployscan-output"]
    assert code == 3, err
    assert err.strip() == f"deployscan scan: error: interrupted by {name}; stopped"


def test_sigterm_stops_a_scan_while_it_pulls(
    tmp_path: Path, stalling: tuple[Hostile, imagebuild.Image]
) -> None:
    server, img = stalling
    out = tmp_path / "out"
    args = ["scan", f"{server.host}/team/slow:1", "--output-dir", str(out), "--no-publish"]
    proc = start(args, tmp_path, INSECURE_REGISTRIES=server.host)
    wait_for(lambda: any((tmp_path / "tmp").glob("deployscan-*/.image.tar.*.part")), "the pull")
    wait_for(lambda: img.layers[1].digest in " ".join(server.paths()), "the stalled blob")
    code, err = stop(proc, signal.SIGTERM)
    assert list((tmp_path / "tmp").iterdir()) == []  # neither the temp dir nor its partial pull
    assert not (tmp_path / "double-calls.jsonl").exists()
    assert code == 3, err
    assert "interrupted by SIGTERM" in err


def test_a_second_scan_into_the_same_directory_is_refused_while_the_first_runs(
    tmp_path: Path, oci_archive: Archive, leftovers: set[int]
) -> None:
    out = tmp_path / "out"
    args = ["scan", "--archive", str(oci_archive.path), "--output-dir", str(out)]
    first = start(args, tmp_path)
    wait_for((tmp_path / "double-calls.jsonl").exists, "the first scan's scanner")
    leftovers.update(p.pid for p in psutil.Process(first.pid).children(recursive=True))
    second = start(args, tmp_path, QSCANNER_DOUBLE_SCENARIO="clean")
    _, err = second.communicate(timeout=30)
    assert second.returncode == 3
    assert err.strip().startswith("deployscan scan: error: another deployscan scan is writing to")
    assert len((tmp_path / "double-calls.jsonl").read_text().splitlines()) == 1
    assert stop(first, signal.SIGTERM)[0] == 3
