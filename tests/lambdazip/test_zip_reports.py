"""Reports of zip code: every format names the function, S3 keys use its name and code hash,
the deny list and the ignore list apply, and report.json reads back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from botocore.stub import Stubber

from dispatcher.buildvars import KIND_LAMBDA_ZIP
from scanner_runner.denylist import default_entries
from scanner_runner.devtools.codeserve import CodeServer
from scanner_runner.lambdazip import CodeRequest
from scanner_runner.policy import IgnoreEntry, Policy
from scanner_runner.publish import key_prefix
from scanner_runner.report import ScanReport
from scanner_runner.writers import FORMATS
from tests.lambdazip.conftest import FUNCTION, LAYER, StubSession
from tests.lambdazip.test_scan_zip import scan, stub_function
from tests.lambdazip.zips import code_sha256, denied_node_function

Stub = tuple[Stubber, StubSession]


def test_every_format_names_the_function_its_runtime_code_hash_and_layers(
    tmp_path: Path, trusted: CodeServer, lambda_stub: Stub, make_options: Callable[..., Any]
) -> None:
    stubber, session = lambda_stub
    fn_sha, layer_sha = stub_function(stubber, trusted)
    report = scan(
        tmp_path, session, make_options(), CodeRequest(KIND_LAMBDA_ZIP, f"{FUNCTION}:3")
    ).report
    for output in FORMATS.values():
        text = (tmp_path / "out" / output.filename).read_text()
        for value in (f"{FUNCTION}:3", "python3.12", fn_sha, LAYER):
            assert value in text, (output.name, value)
    again = ScanReport.from_dict(report.to_dict())
    assert again == report
    key = key_prefix(report, "deployscan", datetime(2026, 3, 1, 10, 0, tzinfo=UTC))
    hex_digest = report.image.digest.removeprefix("sha256:")
    assert (
        key
        == f"deployscan/111122223333/eu-west-1/orders/sha256-{hex_digest}/20260301T100000Z-local/"
    )
    assert layer_sha in (tmp_path / "out" / "report.md").read_text()


def test_the_deny_list_fails_a_function_shipping_a_denied_package(
    tmp_path: Path, trusted: CodeServer, lambda_stub: Stub, make_options: Callable[..., Any]
) -> None:
    stubber, session = lambda_stub
    data = denied_node_function()
    answer = {
        "Configuration": {
            "FunctionArn": FUNCTION,
            "Runtime": "nodejs20.x",
            "PackageType": "Zip",
            "CodeSha256": code_sha256(data),
            "CodeSize": len(data),
            "Version": "$LATEST",
        },
        "Code": {"Location": trusted.put("denied.zip", data)},
    }
    stubber.add_response("get_function", answer, {"FunctionName": FUNCTION})
    policy = Policy(deny=default_entries())
    outcome = scan(
        tmp_path,
        session,
        make_options(),
        CodeRequest(KIND_LAMBDA_ZIP, FUNCTION),
        scanner="syft",
        policy=policy,
    )
    report = outcome.report
    assert report.status == "failed" and outcome.exit_code == 1, report.error
    assert [(f.package, f.installed_version) for f in report.violations] == [
        ("event-stream", "3.3.6")
    ]
    assert report.lambda_code is not None and report.lambda_code.version == "$LATEST"
    assert report.image.ref == FUNCTION and report.image.os == "nodejs20.x"


def test_the_ignore_list_applies_to_zip_findings(
    tmp_path: Path, trusted: CodeServer, lambda_stub: Stub, make_options: Callable[..., Any]
) -> None:
    stubber, session = lambda_stub
    stub_function(stubber, trusted)
    ignores = tuple(IgnoreEntry(qid, date(2099, 1, 1), "accepted") for qid in ("38001", "38002"))
    outcome = scan(
        tmp_path,
        session,
        make_options(),
        CodeRequest(KIND_LAMBDA_ZIP, f"{FUNCTION}:3"),
        policy=Policy(ignores=ignores),
    )
    assert outcome.report.status == "passed", outcome.report.policy.reason
    assert outcome.report.policy.ignored >= 2
