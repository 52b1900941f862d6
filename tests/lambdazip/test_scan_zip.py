"""`deployscan scan --lambda/--layer` end to end in process: Stubber-checked lookups, the real
HTTPS download from the loopback code server, safe unpacking, QScanner (double) or syft."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.stub import Stubber

from dispatcher.buildvars import KIND_LAMBDA_LAYER, KIND_LAMBDA_ZIP
from dispatcher.scancache import code_key
from scanner_runner.devtools.codeserve import CodeServer
from scanner_runner.job import Runtime, ScanJob
from scanner_runner.lambdazip import CodeRequest
from scanner_runner.publish import Targets
from scanner_runner.scan import run_scan
from tests.lambdazip.conftest import (
    FUNCTION,
    LAYER,
    StubSession,
    function_answer,
    layer_answer,
)
from tests.lambdazip.zips import code_sha256, function_zip, layer_zip

Stub = tuple[Stubber, StubSession]


def scan(tmp_path: Path, session: StubSession, options: Any, code: CodeRequest, **job: Any) -> Any:
    """Run one zip scan; the outcome."""
    runtime = Runtime(
        options=options,
        targets=Targets(),
        boto3_session=session,
        clock=lambda: datetime(2026, 3, 1, 10, 0, tzinfo=UTC),
    )
    values: dict[str, Any] = {
        "output_dir": tmp_path / "out",
        "work_dir": tmp_path / "work",
        "scanner": "qscanner",
        "code": code,
        "timeout": 60.0,
    }
    values.update(job)
    return run_scan(ScanJob(**values), runtime)


def stub_function(
    stubber: Stubber, server: CodeServer, *, with_layer: bool = True
) -> tuple[str, str]:
    """GetFunction (qualified :3) and GetLayerVersionByArn, each request checked exactly."""
    code, layer = function_zip(), layer_zip()
    fn_sha, layer_sha = code_sha256(code), code_sha256(layer)
    layers = (LAYER,) if with_layer else ()
    stubber.add_response(
        "get_function",
        function_answer(server.put("fn.zip", code), fn_sha, len(code), layers=layers),
        {"FunctionName": FUNCTION, "Qualifier": "3"},
    )
    if with_layer:
        stubber.add_response(
            "get_layer_version_by_arn",
            layer_answer(server.put("layer.zip", layer), layer_sha, len(layer)),
            {"Arn": LAYER},
        )
    return fn_sha, layer_sha


def test_function_and_its_layer_are_fetched_verified_laid_out_and_scanned(
    tmp_path: Path,
    trusted: CodeServer,
    lambda_stub: Stub,
    make_options: Callable[..., Any],
    double: Any,
) -> None:
    stubber, session = lambda_stub
    fn_sha, layer_sha = stub_function(stubber, trusted)
    outcome = scan(
        tmp_path, session, make_options(), CodeRequest(KIND_LAMBDA_ZIP, f"{FUNCTION}:3", fn_sha)
    )
    report = outcome.report
    assert report.status == "failed", report.error  # the double's findings break the policy
    info = report.lambda_code
    assert info is not None
    assert (info.kind, info.arn, info.version, info.runtime) == (
        KIND_LAMBDA_ZIP,
        f"{FUNCTION}:3",
        "3",
        "python3.12",
    )
    assert (info.code_sha256, info.layers, info.layer_code_sha256) == (
        fn_sha,
        (LAYER,),
        (layer_sha,),
    )
    assert report.image.digest == code_key(fn_sha).removeprefix("code#")
    assert (report.image.repository, report.image.os) == ("orders", "python3.12")
    root = tmp_path / "work" / "lambda-root"
    assert (root / "var/task/app.py").is_file()
    assert (root / "opt/python/urllib3/__init__.py").is_file()
    call = double.calls()[-1]["argv"]
    assert call[-2:] == ["rootfs", str(root)]
    packages = {f.package for f in report.findings}
    assert packages == {"requests", "urllib3"}  # found in /var/task and /opt alike
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["lambda"]["layers"] == [LAYER] and saved["lambda"]["runtime"] == "python3.12"
    for path, headers in trusted.requests[-2:]:
        assert "Authorization" not in headers and path.startswith("/code/")
    assert session.regions == ["eu-west-1"]


def test_a_layer_alone_is_scanned_with_syft_as_a_directory(
    tmp_path: Path, trusted: CodeServer, lambda_stub: Stub, make_options: Callable[..., Any]
) -> None:
    stubber, session = lambda_stub
    layer = layer_zip()
    stubber.add_response(
        "get_layer_version_by_arn",
        layer_answer(trusted.put("solo.zip", layer), code_sha256(layer), len(layer)),
        {"Arn": LAYER},
    )
    outcome = scan(
        tmp_path, session, make_options(), CodeRequest(KIND_LAMBDA_LAYER, LAYER), scanner="syft"
    )
    report = outcome.report
    assert report.status == "passed", report.error
    assert (
        report.scanner.name == "syft"
        and report.inventory_packages
        and report.inventory_packages >= 1
    )
    assert report.lambda_code is not None and report.lambda_code.kind == KIND_LAMBDA_LAYER
    assert report.image.repository == "shared-libs"
    assert (tmp_path / "work" / "lambda-root" / "opt" / "python" / "urllib3").is_dir()


def test_code_that_changed_since_the_event_is_refused(
    tmp_path: Path, trusted: CodeServer, lambda_stub: Stub, make_options: Callable[..., Any]
) -> None:
    stubber, session = lambda_stub
    stub_function(stubber, trusted, with_layer=False)
    stale = code_sha256(b"older code")
    outcome = scan(
        tmp_path, session, make_options(), CodeRequest(KIND_LAMBDA_ZIP, f"{FUNCTION}:3", stale)
    )
    assert outcome.exit_code == 3 and outcome.report.status == "error"
    assert "not the deployed" in outcome.report.error
