"""`deployscan demo`: emulated AWS + real registry + real dispatcher + the local build executor.

Everything the demo starts (moto server thread, docker-registry by PID, build shells by process
group) is stopped on the way out, also on Ctrl-C or an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import scanner_runner
from dispatcher.buildvars import SCAN_STATUS, BuildRequest
from dispatcher.core import dispatch
from dispatcher.dedup import Memo
from dispatcher.model import Skip, Started
from dispatcher.resolve_aws import AwsResolver
from dispatcher.scancache import ScanCacheTable
from dispatcher.settings import Settings
from scanner_runner.devtools import imagebuild
from scanner_runner.devtools.demo import sweep as demo_sweep
from scanner_runner.devtools.demo.events import demo_events
from scanner_runner.devtools.demo.gate import GateStep, gate_deployments, gate_rows
from scanner_runner.devtools.demo.images import push_samples, samples
from scanner_runner.devtools.demo.lambdazip import zip_samples
from scanner_runner.devtools.demo.motoserver import ACCOUNT, MotoServer
from scanner_runner.devtools.demo.stack import StackNames, create_stack
from scanner_runner.devtools.demo.summary import Row, rows_for
from scanner_runner.devtools.localbuild.launcher import (
    LocalBuildLauncher,
    LocalProject,
    build_image_environment,
)
from scanner_runner.devtools.localbuild.model import BuildResult, EnvVar
from scanner_runner.devtools.localregistry import LocalRegistry
from scanner_runner.errors import DeployscanError

Echo = Callable[[str], None]
INVENTORY_ONLY = "inventory only: no vulnerability data"
QSCANNER_KEY = "deployscan/qscanner"


class DemoError(DeployscanError):
    """The demo could not set itself up."""


@dataclass(frozen=True)
class DemoOptions:
    """What `deployscan demo` was asked for."""

    workdir: Path
    quick: bool = False
    verbose: bool = False
    environ: Mapping[str, str] = field(default_factory=dict)  # where Qualys settings are read


@dataclass(frozen=True)
class ScannerChoice:
    """Which scanner the builds use, and why."""

    name: str  # qscanner | syft
    why: str
    qscanner_path: str | None = None


@dataclass(frozen=True)
class DemoResult:
    """Rows of the summary table and where the reports were copied."""

    rows: tuple[Row, ...]
    scanner: ScannerChoice
    reports_dir: Path
    seconds: float

    @property
    def ok(self) -> bool:
        """True when every build ran to a verdict (passed or policy-failed), none errored."""
        return bool(self.rows) and not any(row.errored for row in self.rows)


def choose_scanner(environ: Mapping[str, str]) -> ScannerChoice:
    """QScanner when a binary and Qualys credentials are present, else syft (inventory only)."""
    binary = environ.get("QSCANNER_PATH") or shutil.which("qscanner", path=environ.get("PATH"))
    if binary and environ.get("QUALYS_ACCESS_TOKEN") and environ.get("QUALYS_POD"):
        return ScannerChoice(
            "qscanner", f"QScanner at {binary}, pod {environ['QUALYS_POD']}", binary
        )
    missing = "no qscanner binary" if not binary else "no QUALYS_ACCESS_TOKEN/QUALYS_POD"
    return ScannerChoice("syft", f"syft ({INVENTORY_ONLY}; {missing})")


def source_root() -> Path:
    """The checkout holding `buildspecs/scan.yml` (the scan project's source)."""
    root = Path(scanner_runner.__file__).resolve().parents[1]
    if not (root / "buildspecs" / "scan.yml").is_file():
        raise DemoError(f"buildspecs/scan.yml not found under {root}: run the demo from a checkout")
    return root


def run_demo(options: DemoOptions, echo: Echo) -> DemoResult:
    """Run the whole flow and return the summary rows; raises `DemoError` on set-up failure."""
    started = time.monotonic()
    workdir = options.workdir.resolve()
    for stale in ("builds", "reports", "registry"):
        shutil.rmtree(workdir / stale, ignore_errors=True)
    scanner = choose_scanner(options.environ)
    echo(f"scanner: {scanner.why}")
    with contextlib.ExitStack() as cleanup:
        moto = cleanup.enter_context(MotoServer())
        echo(f"AWS emulator (moto server) on {moto.endpoint}")
        registry = cleanup.enter_context(LocalRegistry(workdir / "registry"))
        echo(f"registry (docker-registry, pid {registry.pid}) on {registry.host}")
        built = {sample.repository: sample for sample in samples()}
        push_samples(imagebuild.Pusher(registry.url), list(built.values()))
        echo(f"pushed {len(built)} sample images: " + ", ".join(f"{r}" for r in built))
        qscanner_env, qscanner_body = _qscanner_env(scanner)
        stack = create_stack(
            moto.client,
            scanner=scanner.name,
            qualys_pod=options.environ.get("QUALYS_POD", "") if scanner.qscanner_path else "",
            qualys_token=options.environ.get("QUALYS_ACCESS_TOKEN", "")
            if scanner.qscanner_path
            else "",
            insecure_registries=registry.host,
            extra_env=qscanner_env,
        )
        if qscanner_body:  # as `make package` uploads it next to the runner bundle
            moto.client("s3").put_object(
                Bucket=stack.names.artifacts_bucket, Key=QSCANNER_KEY, Body=qscanner_body
            )
        zips = None if options.quick else cleanup.enter_context(zip_samples(moto, workdir))
        if zips is not None:
            echo("deployed a zip function (Node.js, with a layer) and the layer to emulated Lambda")
        echo(f"stack resources created: s3://{stack.names.bucket}, table {stack.names.table}, "
             f"secret {stack.names.secret_name}, project {stack.names.project}")  # fmt: skip
        launcher = LocalBuildLauncher(
            LocalProject(
                name=stack.names.project,
                source_dir=source_root(),
                work_root=workdir / "builds",
                environment=stack.environment,
                base_env=build_image_environment(
                    {**moto.environment(), **(zips.env if zips else {})}
                ),
                timeout_seconds=600,
            ),
            secrets_client=moto.client("secretsmanager"),
            output=echo if options.verbose else None,
            on_result=lambda request, result: _announce(echo, request, result),
            deferred=True,  # StartBuild returns at once; builds run after the events, as in AWS
        )
        settings = Settings(project_name=stack.names.project, cache_table=stack.names.table)
        cache = ScanCacheTable(moto.client("dynamodb"), stack.names.table)
        outcomes = []
        with _environment(moto.environment()):  # the dispatcher's own boto3 session
            resolver = AwsResolver(moto.session(), None, home_account=ACCOUNT)
            memo = Memo()  # one warm Lambda execution environment
            running = demo_sweep.start_workloads(moto, registry, echo, quick=options.quick)
            events = demo_events(registry.host, built, quick=options.quick)
            for item in [*events, *(zips.events if zips else ())]:
                result = dispatch(item.event, settings, resolver, cache=cache,
                                  launcher=launcher, memo=memo)  # fmt: skip
                echo(f"event: {item.label} -> " + ", ".join(_decision(o) for o in result.outcomes))
                outcomes.extend(result.outcomes)
            gate = GateStep(
                gate_deployments(built, scanner.name), host=registry.host,
                session=moto.session(), settings=settings, launcher=launcher,
                scanner=scanner.name,
            )  # fmt: skip
            gate.ask(echo)  # scans still running (one started by the gate): IN_PROGRESS
            outcomes += demo_sweep.sweep(running, settings, cache, resolver=resolver,
                                         launcher=launcher, echo=echo)  # fmt: skip
        echo(f"running {len(launcher.pending)} builds of buildspecs/scan.yml (local executor)")
        launcher.run_pending()
        with _environment(moto.environment()):
            answers = gate.ask(echo)  # ECS calls again after callBackDelay: the final answers
        rows = rows_for(outcomes, launcher.results, workdir / "reports")
        rows += gate_rows(gate.deploys, answers)
        demo_sweep.after_builds(cache, rows, workdir / "reports", echo)
    return DemoResult(tuple(rows), scanner, workdir / "reports", time.monotonic() - started)


def _decision(outcome: object) -> str:
    if isinstance(outcome, Started):
        return "build started"
    if isinstance(outcome, Skip):
        return f"skip ({outcome.reason})"
    return type(outcome).__name__


def _qscanner_env(scanner: ScannerChoice) -> tuple[tuple[EnvVar, ...], bytes]:
    """Where the build fetches QScanner from (the emulated artifacts bucket) and its sha256."""
    if scanner.qscanner_path is None:
        return (), b""
    body = Path(scanner.qscanner_path).read_bytes()
    url = f"s3://{StackNames().artifacts_bucket}/{QSCANNER_KEY}"
    env = (EnvVar("QSCANNER_URL", url), EnvVar("QSCANNER_SHA256", hashlib.sha256(body).hexdigest()))
    return env, body


def _announce(echo: Echo, request: BuildRequest, result: BuildResult) -> None:
    verdict = result.exported_variables.get(SCAN_STATUS, "error")
    seconds = result.ended_at - result.started_at
    number, status = result.build_number, result.status
    echo(f"  build {number} {request.subject}: {status} ({verdict}), {seconds:.1f} s")


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set variables for the duration (the dispatcher's boto3 clients read AWS_ENDPOINT_URL)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
