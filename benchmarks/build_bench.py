"""The local build executor's overhead, and the demo's wall time.

Peer in the same run: `deployscan scan IMAGE` run directly with the same environment the build
gets. Ours: the same scan through buildspecs/scan.yml in the local build executor (fresh source
copy, one shell, phases, env, exported variables, report and artifact collection). Both use
syft against a real local registry and moto server, so they do the same work apart from the
executor. Then the full `deployscan demo` (4 images, 4 events + a redelivery) is timed.

    .venv/bin/python benchmarks/build_bench.py [--runs N]

Goals: executor overhead <= 1.5x the direct scan; demo < 60 s after set-up on 2 cores.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dispatcher.buildvars import BuildRequest
from dispatcher.imageref import ImageRef
from scanner_runner.devtools import imagebuild
from scanner_runner.devtools.demo.images import samples
from scanner_runner.devtools.demo.motoserver import MotoServer
from scanner_runner.devtools.demo.run import DemoOptions, run_demo
from scanner_runner.devtools.demo.stack import create_stack
from scanner_runner.devtools.localbuild.launcher import (
    LocalBuildLauncher,
    LocalProject,
    build_image_environment,
)
from scanner_runner.devtools.localregistry import LocalRegistry

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    """Print the medians and the ratio, then the demo's time."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp, MotoServer() as moto:
        work = Path(tmp)
        with LocalRegistry(work / "registry") as registry:
            service = samples()[0]
            assert service.image is not None
            imagebuild.Pusher(registry.url).push_image(service.repository, service.image, "1")
            ref = f"{registry.host}/{service.repository}:1"
            stack = create_stack(moto.client, scanner="syft", insecure_registries=registry.host)
            env = build_image_environment(moto.environment())
            env.update({v.name: v.value for v in stack.environment})
            env["HOME"] = str(work / "home")
            direct = []
            for run in range(runs):
                started = time.perf_counter()
                subprocess.run(
                    ["deployscan", "scan", ref, "--output-dir", str(work / f"direct{run}")],
                    env=env, check=True, capture_output=True,
                )  # fmt: skip
                direct.append(time.perf_counter() - started)
            project = LocalProject(
                name=stack.names.project,
                source_dir=ROOT,
                work_root=work / "builds",
                environment=stack.environment,
                base_env=build_image_environment(moto.environment()),
            )
            launcher = LocalBuildLauncher(project, secrets_client=moto.client("secretsmanager"))
            request = BuildRequest(stack.names.project, ImageRef.parse(ref), None, None,
                                   "123456789012", "us-east-1", "manual", None)  # fmt: skip
            built = []
            for _ in range(runs):
                started = time.perf_counter()
                result = launcher.run(request)
                built.append(time.perf_counter() - started)
                assert result.succeeded, result.log_tail()
    d, b = statistics.median(direct), statistics.median(built)
    print(f"direct deployscan scan (peer), median of {runs}: {d:.2f} s")
    print(f"same scan via buildspecs/scan.yml in the local executor: {b:.2f} s")
    print(f"executor overhead: {b / d:.2f}x ({b - d:+.2f} s per build)")
    with tempfile.TemporaryDirectory() as tmp:
        demo = run_demo(DemoOptions(workdir=Path(tmp), environ={}), lambda line: None)
    builds = sum(1 for row in demo.rows if not row.verdict.startswith("skipped"))
    print(f"deployscan demo (4 images, {builds} builds, {len(demo.rows)} decisions): "
          f"{demo.seconds:.1f} s")  # fmt: skip


if __name__ == "__main__":
    main()
