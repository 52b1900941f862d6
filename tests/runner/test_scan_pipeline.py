"""The core pipeline end to end: archive or real registry pull -> double/syft -> files -> exit."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from dispatcher.imageref import ImageRef
from scanner_runner import outdir
from scanner_runner.devtools import imagebuild
from scanner_runner.devtools.localregistry import LocalRegistry
from scanner_runner.job import Runtime, ScanJob
from scanner_runner.publish import Targets, make_clients
from scanner_runner.report import TriggerInfo, load
from scanner_runner.scan import Outcome, run_scan
from scanner_runner.scanners.interface import ScannerOptions
from tests.runner.archives import Archive, rootfs
from tests.runner.conftest import DoubleRun

Options = Callable[..., ScannerOptions]


def clock() -> Callable[[], datetime]:
    moments = iter(
        [datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC), datetime(2026, 3, 1, 10, 0, 42, tzinfo=UTC)]
    )
    return lambda: next(moments)


def run(
    tmp_path: Path, options: ScannerOptions, *, targets: Targets | None = None, **job: Any
) -> Outcome:
    values: dict[str, Any] = {
        "output_dir": tmp_path / "out",
        "scanner": "qscanner",
        "timeout": 30.0,
    }
    values.update(job)
    if isinstance(values.get("image"), str):
        values["image"] = ImageRef.parse(values["image"])
    runtime = Runtime(options=options, targets=targets or Targets(), clock=clock())
    return run_scan(ScanJob(**values), runtime)


def exported(tmp_path: Path) -> dict[str, str]:
    lines = (tmp_path / "out" / "exported-variables.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines)


def test_findings_fail_the_policy_and_every_output_is_written(
    tmp_path: Path, make_options: Options, oci_archive: Archive
) -> None:
    outcome = run(
        tmp_path,
        make_options(),
        archive=oci_archive.path,
        trigger=TriggerInfo(source="ecs:TaskStateChange", account="123456789012"),
    )
    assert outcome.exit_code == 1
    out = tmp_path / "out"
    names = {p.name for p in out.iterdir()}
    assert {
        "report.json",
        "junit.xml",
        "report.sarif.json",
        "report.html",
        "report.md",
        "findings.asff.json",
        "exported-variables.env",
        "qscanner",
    } <= names
    report = load(out / "report.json")
    assert report.status == "failed" and report.scanner.name == "qscanner"
    assert report.image.image_id == oci_archive.image_id
    assert report.image.digest == oci_archive.manifest_digest
    assert (
        report.started_at == "2026-03-01T10:00:00Z" and report.finished_at == "2026-03-01T10:00:42Z"
    )
    assert report.trigger.account == "123456789012"
    assert any(p.name.endswith("-Report.sarif.json") for p in (out / "qscanner").iterdir())
    assert exported(tmp_path)["SCAN_STATUS"] == "failed"
    assert exported(tmp_path)["SCAN_CRITICAL"] == "1"


def test_clean_image_passes(
    tmp_path: Path, make_options: Options, double: DoubleRun, oci_archive: Archive
) -> None:
    double.scenario = "clean"
    outcome = run(tmp_path, make_options(), archive=oci_archive.path)
    assert outcome.exit_code == 0 and outcome.report.status == "passed"
    assert outcome.report.vulnerability_data is True


@pytest.mark.parametrize("scenario", ["crash", "silent-exit-0", "mismatch", "os-unsupported"])
def test_scanner_failures_are_error_reports_never_clean(
    tmp_path: Path, make_options: Options, double: DoubleRun, oci_archive: Archive, scenario: str
) -> None:
    double.scenario = scenario
    outcome = run(tmp_path, make_options(), archive=oci_archive.path)
    assert outcome.exit_code == 3
    report = load(tmp_path / "out" / "report.json")
    assert report.status == "error" and report.error and report.policy.decision == "error"
    assert report.vulnerability_data is False
    assert exported(tmp_path)["SCAN_STATUS"] == "error"
    assert "Policy verdict: ERROR" in (tmp_path / "out" / "junit.xml").read_text()


def test_syft_inventory_is_labelled_and_passes(
    tmp_path: Path, make_options: Options, oci_archive: Archive
) -> None:
    outcome = run(tmp_path, make_options(), archive=oci_archive.path, scanner="syft")
    assert outcome.exit_code == 0
    report = outcome.report
    assert report.scanner.mode == "inventory-only" and report.inventory_packages == 3
    assert report.policy.decision == "not-evaluated"
    assert (tmp_path / "out" / "sbom.cdx.json").is_file()
    assert (tmp_path / "out" / "syft" / "sbom.cdx.json").is_file()
    assert "inventory only" in outcome.message
    # the report lists what syft found, with its type and where it lives
    assert len(report.packages) == 3 and {p.type for p in report.packages} == {"deb"}
    assert all(p.name and p.version and p.location for p in report.packages)
    page = (tmp_path / "out" / "report.html").read_text()
    assert "INVENTORY ONLY" in page and f"<td>{report.packages[0].name}</td>" in page


def test_missing_archive_is_an_error_report(tmp_path: Path, make_options: Options) -> None:
    outcome = run(tmp_path, make_options(), archive=tmp_path / "nope.tar")
    assert outcome.exit_code == 3 and "cannot read image archive" in outcome.report.error


def test_stale_outputs_of_an_earlier_run_are_removed(
    tmp_path: Path, make_options: Options, double: DoubleRun, oci_archive: Archive
) -> None:
    stale = tmp_path / "out" / "syft"
    stale.mkdir(parents=True)
    (tmp_path / "out" / outdir.MARKER).write_text("")  # an earlier run's directory
    (stale / "old.json").write_text("{}")
    (tmp_path / "out" / "sbom.cdx.json").write_text("{}")
    double.scenario = "clean"
    run(tmp_path, make_options(), archive=oci_archive.path)
    assert not stale.exists() and not (tmp_path / "out" / "sbom.cdx.json").exists()


def test_publish_failure_after_a_good_scan_fails_the_build(
    tmp_path: Path, make_options: Options, double: DoubleRun, oci_archive: Archive, aws: None
) -> None:
    double.scenario = "clean"
    targets = Targets(bucket="missing-bucket")
    outcome = run(tmp_path, make_options(), archive=oci_archive.path, targets=targets)
    assert outcome.exit_code == 3
    assert "publishing failed" in outcome.message
    assert outcome.report.status == "passed"  # the scan verdict itself is kept
    assert outcome.verdict == "error"  # the build's, which its metrics count
    assert exported(tmp_path)["SCAN_STATUS"] == "error"
    assert exported(tmp_path)["SCAN_REPORT_URI"] == "''"


def test_published_report_names_its_own_uri(
    tmp_path: Path, make_options: Options, oci_archive: Archive, aws: None
) -> None:
    session = boto3.session.Session(region_name="us-east-1")
    session.client("s3").create_bucket(Bucket="results-bucket")
    targets = Targets(bucket="results-bucket", prefix="scans")
    values: dict[str, Any] = {
        "output_dir": tmp_path / "out",
        "scanner": "qscanner",
        "archive": oci_archive.path,
        "build_id": "proj:1234",
    }
    runtime = Runtime(
        options=make_options(),
        targets=targets,
        clock=clock(),
        clients=make_clients(targets, session),
    )
    outcome = run_scan(ScanJob(**values), runtime)
    assert outcome.published is not None
    uri = outcome.report.report_uri
    assert uri.startswith("s3://results-bucket/scans/unknown-account/unknown-region/archive/app/")
    assert uri.endswith("/20260301T100042Z-proj_1234/report.json")
    key = uri.removeprefix("s3://results-bucket/")
    stored = json.loads(
        session.client("s3").get_object(Bucket="results-bucket", Key=key)["Body"].read()
    )
    assert stored["report_uri"] == uri
    assert exported(tmp_path)["SCAN_REPORT_URI"] == uri


def test_secret_values_found_in_the_image_never_reach_s3(
    tmp_path: Path, make_options: Options, double: DoubleRun, oci_archive: Archive, aws: None
) -> None:
    double.scenario = "secrets"
    session = boto3.session.Session(region_name="us-east-1")
    s3 = session.client("s3")
    s3.create_bucket(Bucket="results-bucket")
    targets = Targets(bucket="results-bucket")
    job = ScanJob(output_dir=tmp_path / "out", scanner="qscanner", archive=oci_archive.path)
    runtime = Runtime(
        options=make_options(),
        targets=targets,
        clock=clock(),
        clients=make_clients(targets, session),
    )
    outcome = run_scan(job, runtime)
    assert any(f.kind == "secret" for f in outcome.report.findings)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="results-bucket")["Contents"]]
    assert any(key.endswith("-ScanResult.json") for key in keys)
    bodies = {k: s3.get_object(Bucket="results-bucket", Key=k)["Body"].read() for k in keys}
    secret = b"AKIA" + b"DOUBLESECRETVALUE"
    assert [key for key, body in bodies.items() if secret in body] == []
    local = [p for p in (tmp_path / "out").rglob("*") if p.is_file() and secret in p.read_bytes()]
    assert local == []  # nor in the build's artifacts


@pytest.fixture(scope="module")
def pushed(registry: LocalRegistry) -> tuple[str, str]:
    img = imagebuild.image([imagebuild.layer(rootfs("pulled"))])
    digest = imagebuild.Pusher(registry.url).push_image("team/app", img, tag="1")
    return f"{registry.host}/team/app:1", digest


def test_image_is_pulled_from_a_real_registry_then_scanned(
    tmp_path: Path,
    make_options: Options,
    double: DoubleRun,
    pushed: tuple[str, str],
    registry: LocalRegistry,
) -> None:
    ref, digest = pushed
    outcome = run(tmp_path, make_options(), image=ref, insecure_registries=(registry.host,))
    assert outcome.exit_code == 1, outcome.message
    assert outcome.report.image.digest == digest
    assert outcome.report.image.repository == "team/app"
    assert outcome.report.image.ref == ref
    (call,) = double.calls()
    assert call["argv"][-2] == "tar"  # the double scanned the pulled archive


def test_a_pulled_image_is_bounded_by_what_its_layers_unpack_to(
    tmp_path: Path,
    make_options: Options,
    double: DoubleRun,
    pushed: tuple[str, str],
    registry: LocalRegistry,
) -> None:
    ref, _digest = pushed
    outcome = run(
        tmp_path,
        make_options(),
        image=ref,
        insecure_registries=(registry.host,),
        max_unpacked_bytes=1000,
    )
    assert outcome.exit_code == 3
    assert "unpack to more than 1000 bytes (MAX_UNPACKED_BYTES)" in outcome.report.error
    assert double.calls() == []  # refused before QScanner ran


def test_pull_failure_is_an_error_report(
    tmp_path: Path, make_options: Options, registry: LocalRegistry
) -> None:
    ref = f"{registry.host}/team/does-not-exist:1"
    outcome = run(tmp_path, make_options(), image=ref, insecure_registries=(registry.host,))
    assert outcome.exit_code == 3
    assert outcome.report.status == "error"
    assert load(tmp_path / "out" / "report.json").error


def test_a_known_digest_is_pulled_by_digest_and_kept(
    tmp_path: Path, make_options: Options, pushed: tuple[str, str], registry: LocalRegistry
) -> None:
    ref, digest = pushed
    outcome = run(
        tmp_path, make_options(), image=ref, digest=digest, insecure_registries=(registry.host,)
    )
    assert outcome.exit_code == 1 and outcome.report.image.digest == digest
    wrong = "sha256:" + "e" * 64
    outcome = run(
        tmp_path, make_options(), image=ref, digest=wrong, insecure_registries=(registry.host,)
    )
    assert outcome.exit_code == 3 and outcome.report.image.digest == wrong


@pytest.mark.parametrize(
    ("scenario", "options", "words"),
    [
        ("hang", {"kill_grace": 0.2}, "did not finish"),
        ("not-ready", {}, "not ready within"),
        ("garbage", {}, "cannot parse QScanner file"),
        ("findings", {"qscanner_path": "/nonexistent/qscanner"}, "cannot run qscanner"),
    ],
)
def test_timeouts_unparseable_files_and_missing_binary_are_error_reports(
    tmp_path: Path,
    make_options: Options,
    double: DoubleRun,
    oci_archive: Archive,
    *,
    scenario: str,
    options: dict[str, Any],
    words: str,
) -> None:
    double.scenario = scenario
    outcome = run(tmp_path, make_options(**options), archive=oci_archive.path, timeout=1.0)
    assert outcome.exit_code == 3
    report = load(tmp_path / "out" / "report.json")
    assert report.status == "error" and words in report.error
    assert report.findings == () and report.policy.decision == "error"
    assert exported(tmp_path)["SCAN_STATUS"] == "error"


def test_an_unexpected_os_error_while_scanning_is_still_an_error_report(
    tmp_path: Path, make_options: Options, double: DoubleRun, oci_archive: Archive
) -> None:
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "qscanner-cache").write_text("a file where the cache directory goes")
    outcome = run(tmp_path, make_options(), archive=oci_archive.path, work_dir=tmp_path / "work")
    assert outcome.exit_code == 3
    assert outcome.report.status == "error" and "cannot scan" in outcome.report.error
    assert load(tmp_path / "out" / "report.json").status == "error"


class CountingSession:
    """A real boto3 session (on moto) that counts the clients made from it."""

    def __init__(self) -> None:
        self.session = boto3.session.Session(region_name="us-east-1")
        self.made: list[str] = []

    def client(self, name: str, **kwargs: Any) -> Any:
        self.made.append(name)
        return self.session.client(name, **kwargs)


def test_a_build_makes_its_aws_clients_once(
    tmp_path: Path, make_options: Options, oci_archive: Archive, aws: None
) -> None:
    session = CountingSession()
    session.session.client("s3").create_bucket(Bucket="results-bucket")
    session.session.client("dynamodb").create_table(
        TableName="scan-cache", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )  # fmt: skip
    targets = Targets(bucket="results-bucket", table="scan-cache")
    runtime = Runtime(options=make_options(), targets=targets, clock=clock(),
                      boto3_session=session)  # fmt: skip
    job = ScanJob(output_dir=tmp_path / "out", scanner="qscanner", archive=oci_archive.path)
    outcome = run_scan(job, runtime)
    assert outcome.published is not None and outcome.published.stored
    # Where-it-runs (the scan cache) and publishing (S3, the scan cache) share one set.
    assert sorted(session.made) == ["dynamodb", "s3"]
