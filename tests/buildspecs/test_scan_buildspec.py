"""The real buildspecs/scan.yml, run by the local executor against moto server, the real local
registry and the QScanner test double: passed, policy-failed and error builds, on both compute
tiers. Each build installs the runner from the bundle's wheelhouse with every index bogus."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from dispatcher.buildvars import BuildRequest
from dispatcher.imageref import ImageRef
from scanner_runner.devtools import imagebuild
from scanner_runner.devtools.demo.images import debian_image
from scanner_runner.devtools.demo.motoserver import MotoServer
from scanner_runner.devtools.demo.stack import StackNames, create_stack
from scanner_runner.devtools.localbuild.executor import new_build_id, run_build
from scanner_runner.devtools.localbuild.launcher import (
    LocalBuildLauncher,
    LocalProject,
    build_image_environment,
    copy_source,
)
from scanner_runner.devtools.localbuild.model import BuildJob, BuildResult, EnvVar
from scanner_runner.devtools.localregistry import LocalRegistry

ROOT = Path(__file__).resolve().parents[2]
DOUBLE = ROOT / "tests" / "doubles" / "qscanner"
NAMES = StackNames()
TOKEN = "qualys-token-7f3a9c2e5b"
TIERS = ("ec2", "lambda")
# Any index a build could reach is one that does not answer: the install must not need one.
NO_INDEX = {
    "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
    "UV_INDEX_URL": "http://127.0.0.1:9/simple",
    "UV_DEFAULT_INDEX": "http://127.0.0.1:9/simple",
}


@pytest.fixture(scope="module")
def pushed(registry: LocalRegistry) -> tuple[str, str]:
    img = debian_image({"srv/app/app.py": b"print('hi')\n"})
    digest = imagebuild.Pusher(registry.url).push_image("shop/checkout-api", img, "2.3.1")
    return f"{registry.host}/shop/checkout-api:2.3.1", digest


def scan_launcher(
    moto_server: MotoServer,
    tmp_path: Path,
    *,
    scenario: str,
    sha256: str | None = None,
    insecure_registries: str = "",
    env: dict[str, str] | None = None,
) -> LocalBuildLauncher:
    """A fresh stack (QScanner double in the artifacts bucket, playing `scenario`) and the local
    executor for its scan project; `env` adds to the build image's environment."""
    moto_server.reset()
    double = DOUBLE.read_bytes()
    stack = create_stack(
        moto_server.client,
        scanner="qscanner",
        qualys_pod="US1",
        qualys_token=TOKEN,
        insecure_registries=insecure_registries,
        extra_env=(
            EnvVar("QSCANNER_URL", f"s3://{NAMES.artifacts_bucket}/deployscan/qscanner"),
            EnvVar("QSCANNER_SHA256", sha256 or hashlib.sha256(double).hexdigest()),
            EnvVar("QSCANNER_DOUBLE_SCENARIO", scenario),
        ),
    )
    moto_server.client("s3").put_object(
        Bucket=NAMES.artifacts_bucket, Key="deployscan/qscanner", Body=double
    )
    project = LocalProject(
        name=NAMES.project,
        source_dir=ROOT,
        work_root=tmp_path,
        environment=stack.environment,
        base_env=build_image_environment({**moto_server.environment(), **NO_INDEX, **(env or {})}),
        timeout_seconds=120,
    )
    return LocalBuildLauncher(project, secrets_client=moto_server.client("secretsmanager"))


def run_scan_build(
    moto_server: MotoServer,
    registry: LocalRegistry,
    tmp_path: Path,
    image: str,
    *,
    scenario: str,
    sha256: str | None = None,
    tier: str = "ec2",
) -> BuildResult:
    launcher = scan_launcher(
        moto_server, tmp_path, scenario=scenario, sha256=sha256, insecure_registries=registry.host
    )
    request = BuildRequest(
        project=NAMES.project,
        image=ImageRef.parse(image),
        digest=None,
        platform="linux/amd64",
        source_account="123456789012",
        source_region="us-east-1",
        trigger="ecs:TaskStateChange",
        resource_arn="arn:aws:ecs:us-east-1:123456789012:task/shop/0123456789abcdef",
        compute_tier=tier,
    )
    return launcher.run(request)


def report_keys(moto_server: MotoServer) -> list[str]:
    listing = moto_server.client("s3").list_objects_v2(Bucket=NAMES.bucket, Prefix="reports/")
    return [item["Key"] for item in listing.get("Contents", [])]


@pytest.mark.parametrize("tier", TIERS)
def test_clean_image_passes(
    moto_server: MotoServer,
    registry: LocalRegistry,
    pushed: tuple[str, str],
    tmp_path: Path,
    tier: str,
) -> None:
    result = run_scan_build(moto_server, registry, tmp_path, pushed[0], scenario="clean", tier=tier)
    log = result.log_path.read_text()
    assert result.status == "SUCCEEDED", "\n".join(result.log_tail(40))
    assert "install: installed 16 pinned distributions from the bundle (no index)" in log
    assert f"on {tier} compute" in log
    build_dir = result.log_path.parent
    qscanner_cache = build_dir / "tmp" / "deployscan" / "qscanner"
    # Lambda compute writes only under /tmp: QScanner, its cache and HOME go there
    assert qscanner_cache.is_dir() == (tier == "lambda")
    assert (build_dir / "home").exists() == (tier == "ec2")
    exported = result.exported_variables
    assert exported["SCAN_STATUS"] == "passed"
    assert exported["SCAN_EXIT_CODE"] == "0"
    assert exported["SCAN_CRITICAL"] == exported["SCAN_HIGH"] == "0"
    assert exported["SCAN_REPORT_URI"].startswith(f"s3://{NAMES.bucket}/reports/123456789012/")
    (report,) = result.reports
    assert (report.group, report.status, report.truncated) == ("findings", "SUCCEEDED", False)
    keys = report_keys(moto_server)
    assert any(k.endswith("/report.json") for k in keys)
    assert any(k.endswith("/junit.xml") for k in keys)
    assert TOKEN not in log  # the secret is masked, never printed


@pytest.mark.parametrize("tier", TIERS)
def test_findings_above_the_policy_fail_the_build(
    moto_server: MotoServer,
    registry: LocalRegistry,
    pushed: tuple[str, str],
    tmp_path: Path,
    tier: str,
) -> None:
    result = run_scan_build(
        moto_server, registry, tmp_path, pushed[0], scenario="findings", tier=tier
    )
    assert result.status == "FAILED"
    assert result.phase("BUILD").status == "FAILED"  # type: ignore[union-attr]
    assert result.phase("POST_BUILD").status == "SUCCEEDED"  # type: ignore[union-attr]
    exported = result.exported_variables
    assert (exported["SCAN_STATUS"], exported["SCAN_EXIT_CODE"]) == ("failed", "1")
    assert int(exported["SCAN_CRITICAL"]) + int(exported["SCAN_HIGH"]) > 0
    (report,) = result.reports
    assert report.count("FAILED") > 0
    assert len(report.cases) <= 500 and not report.truncated
    tail = [line for line in result.log_tail(30) if not line.startswith("[Container]")]
    assert tail[-1] == "verdict: failed (scan exit code 1)"
    # the reason is the verdict message, not the EMF metric lines printed before it
    reason = tail[tail.index("reason (last lines of the scan):") + 1 : -1]
    assert any(line.startswith("  failed: ") for line in reason), reason
    assert not any('"_aws"' in line for line in reason), reason
    assert any(k.endswith("/report.html") for k in report_keys(moto_server))


@pytest.mark.parametrize("tier", TIERS)
def test_scanner_crash_is_an_error_build(
    moto_server: MotoServer,
    registry: LocalRegistry,
    pushed: tuple[str, str],
    tmp_path: Path,
    tier: str,
) -> None:
    result = run_scan_build(moto_server, registry, tmp_path, pushed[0], scenario="crash", tier=tier)
    assert result.status == "FAILED"
    exported = result.exported_variables
    assert (exported["SCAN_STATUS"], exported["SCAN_EXIT_CODE"]) == ("error", "3")
    tail = [line for line in result.log_tail(12) if not line.startswith("[Container]")]
    assert tail[-1] == "verdict: error (scan exit code 3)"
    assert "reason (last lines of the scan):" in tail
    # fail closed, and still visible: an error report in the console and in S3, never a clean one
    (report,) = result.reports
    assert report.status == "SUCCEEDED" and report.count("SUCCEEDED") == 0
    assert report.count("FAILED") + report.count("ERROR") >= 1
    keys = report_keys(moto_server)
    assert any(k.endswith("/report.json") for k in keys)
    assert any(k.endswith("/junit.xml") for k in keys)


def test_a_scanner_that_prints_its_environment_leaks_no_token(
    moto_server: MotoServer, registry: LocalRegistry, pushed: tuple[str, str], tmp_path: Path
) -> None:
    result = run_scan_build(moto_server, registry, tmp_path, pushed[0], scenario="dump-env")
    assert result.exported_variables["SCAN_STATUS"] == "error"
    assert TOKEN not in result.log_path.read_text()
    kept = {path.name: path.read_text(errors="replace") for path in result.artifacts}
    assert "QUALYS_ACCESS_TOKEN=" in kept["console.log"]  # the double did print it...
    assert not [name for name, text in kept.items() if TOKEN in text]  # ...and it was scrubbed
    assert not [k for k in report_keys(moto_server) if TOKEN in k]


def bare_build(tmp_path: Path, *project_env: EnvVar) -> BuildJob:
    """The scan buildspec from a fresh source copy, without the emulated stack around it."""
    return BuildJob(
        project=NAMES.project,
        build_id=new_build_id(NAMES.project),
        build_number=1,
        region="us-east-1",
        account="123456789012",
        src_dir=copy_source(ROOT, tmp_path / "src"),
        build_dir=tmp_path / "build",
        base_env=build_image_environment(),
        project_env=project_env,
        timeout_seconds=120,
    )


def test_a_build_without_image_ref_fails_in_pre_build(tmp_path: Path) -> None:
    job = bare_build(tmp_path, EnvVar("SCANNER", "syft"))
    result = run_build(job)
    assert result.status == "FAILED"
    statuses = {p.phase_type: p.status for p in result.phases}
    assert (statuses["INSTALL"], statuses["PRE_BUILD"]) == ("SUCCEEDED", "FAILED")
    assert result.phase("BUILD") is None
    assert "IMAGE_REF is not set: start the build with --environment-variables-override" in (
        result.log_path.read_text()
    )


def test_an_image_ref_that_reads_as_an_option_fails_the_build(tmp_path: Path) -> None:
    """`IMAGE_REF=-h` reaches the runner as an argument after `--`, which refuses it."""
    job = bare_build(tmp_path, EnvVar("SCANNER", "syft"), EnvVar("IMAGE_REF", "-h"))
    result = run_build(job)
    assert result.status == "FAILED"
    assert result.phase("BUILD").status == "FAILED"  # type: ignore[union-attr]
    assert result.exported_variables["SCAN_STATUS"] == "error"
    assert result.exported_variables["SCAN_EXIT_CODE"] == "2"
    log = result.log_path.read_text()
    assert "IMAGE_REF is an option, not an image reference" in log
    assert "Usage: deployscan scan" not in log


def test_a_qscanner_with_the_wrong_hash_never_runs(
    moto_server: MotoServer, registry: LocalRegistry, pushed: tuple[str, str], tmp_path: Path
) -> None:
    result = run_scan_build(
        moto_server, registry, tmp_path, pushed[0], scenario="clean", sha256="0" * 64
    )
    assert result.status == "FAILED"
    assert result.phase("INSTALL").status == "FAILED"  # type: ignore[union-attr]
    assert result.phase("BUILD") is None
    assert "sha256 mismatch" in result.log_path.read_text()
    assert report_keys(moto_server) == []
