"""The sweep lists zip functions and the layer versions they use (moto lists them; moto lacks
GetLayerVersionByArn, so a Stubber answers it and asserts the exact request): one build per code
hash with trigger `sweep`, rescans by age, the in-use index keyed by `code_key`, status rows."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber

from dispatcher.buildvars import KIND_LAMBDA_LAYER, KIND_LAMBDA_ZIP
from dispatcher.scancache import ScanCacheTable, Verdict, code_key
from dispatcher.scancache.inuse import run_key
from dispatcher.settings import Filters
from dispatcher.sweep.messages import Unit
from dispatcher.sweep.posture import row_dict
from dispatcher.sweep.run import run_sweep
from dispatcher.sweep.scope import SweepSettings
from dispatcher.sweep.status import read_rows
from tests.dispatcher.conftest import RecordingLauncher, settings, table_items
from tests.dispatcher.fakes import FakeResolver
from tests.dispatcher.sweepfakes import HOME, REGION, MotoUnits, session_of
from tests.dispatcher.zipkit import LayersStubbed, layer_answer
from tests.lambdazip.zips import file, make_zip

NOW = 1_800_000_000.0
SWEEP = settings(sweep=SweepSettings(regions=(REGION,)))
UNITS = [Unit(HOME, REGION)]


class ZipUnits(MotoUnits):
    """`UnitClients` whose Lambda client is moto plus the stubbed layer lookup."""

    def __init__(self, stubbed: Any) -> None:
        super().__init__({})
        self._stubbed = stubbed

    def clients(self, unit: Unit) -> tuple[Any, Any]:
        ecs, lam = super().clients(unit)
        return ecs, LayersStubbed(lam, self._stubbed)


@pytest.fixture
def world(aws: None) -> dict[str, Any]:
    """Two functions with the same code and the same layer, one function with other code."""
    session = session_of(HOME)
    role = session.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")
    lam = session.client("lambda", region_name=REGION)
    lib = make_zip([file("handler.py", "lib")])
    layer = lam.publish_layer_version(LayerName="libs", Content={"ZipFile": lib},
                                      CompatibleRuntimes=["python3.12"])  # fmt: skip
    made = {}
    for name, code in (("orders", "shared"), ("billing", "shared"), ("mailer", "other")):
        layers = [layer["LayerVersionArn"]] if code == "shared" else []
        made[name] = lam.create_function(
            FunctionName=name, Role=role["Role"]["Arn"], Runtime="python3.12", Handler="h.h",
            Code={"ZipFile": make_zip([file("handler.py", code)])}, Layers=layers,
        )  # fmt: skip
    return {"layer": layer, "functions": made}


def sweep(cache: ScanCacheTable, stub: Stubber, *, now: float = NOW, **kw: Any) -> Any:
    launcher = RecordingLauncher()
    result = run_sweep(UNITS, kw.pop("config", SWEEP), ZipUnits(stub.client), cache,
                       resolver=FakeResolver(), launcher=launcher, clock=lambda: now,
                       sleep=lambda s: None, **kw)  # fmt: skip
    return result, launcher


def test_zip_code_and_layers_are_built_once_per_code_hash_with_one_layer_lookup(
    world: dict[str, Any], cache: ScanCacheTable, layers: Stubber, dynamodb: Any
) -> None:
    layer = world["layer"]
    # asked once although two functions use it
    layer_answer(layers, layer["LayerVersionArn"], layer["Content"]["CodeSha256"])
    result, launcher = sweep(cache, layers)
    fns, layer = world["functions"], world["layer"]
    shared, other = fns["orders"]["CodeSha256"], fns["mailer"]["CodeSha256"]
    layer_sha = layer["Content"]["CodeSha256"]
    built = {(r.kind, r.code_sha256): r for r in launcher.requests}
    assert set(built) == {(KIND_LAMBDA_ZIP, shared), (KIND_LAMBDA_ZIP, other),
                          (KIND_LAMBDA_LAYER, layer_sha)}  # fmt: skip
    assert {r.trigger for r in launcher.requests} == {"sweep"}
    assert built[(KIND_LAMBDA_LAYER, layer_sha)].code_arn == layer["LayerVersionArn"]
    assert built[(KIND_LAMBDA_ZIP, other)].code_arn == fns["mailer"]["FunctionArn"]
    assert built[(KIND_LAMBDA_ZIP, shared)].code_arn in {
        fns["orders"]["FunctionArn"], fns["billing"]["FunctionArn"]
    }  # fmt: skip
    printed = {line["code_sha256"]: line for line in (x.to_dict() for x in result.lines)}
    line = printed[shared]
    assert (line["action"], line["reason"], line["kind"]) == ("build", "never-scanned",
                                                               KIND_LAMBDA_ZIP)  # fmt: skip
    assert line["image"] is None and line["digest"] is None
    assert line["arn"] == built[(KIND_LAMBDA_ZIP, shared)].code_arn
    assert sorted(p["name"] for p in line["where"]) == ["billing", "orders"]
    assert printed[layer_sha]["kind"] == KIND_LAMBDA_LAYER
    assert sorted(p["name"] for p in printed[layer_sha]["where"]) == ["billing", "orders"]
    items = table_items(dynamodb)
    for sha in (shared, other, layer_sha):
        assert run_key(code_key(sha), HOME, REGION) in items
        assert code_key(sha) in items  # the build's lease, on the code hash


def test_status_and_posture_name_the_function_and_the_layer(
    world: dict[str, Any], cache: ScanCacheTable, layers: Stubber
) -> None:
    layer = world["layer"]
    layer_answer(layers, layer["LayerVersionArn"], layer["Content"]["CodeSha256"])
    sweep(cache, layers)
    rows = {r.name: r for r in read_rows(cache, NOW)}
    shared = next(n for n in rows if n in {"function:orders", "function:billing"})
    assert set(rows) == {shared, "function:mailer", "layer:libs:1"}  # one row per code hash
    assert rows[shared].kind == KIND_LAMBDA_ZIP
    assert rows[shared].where() == "runs in 2 functions in 1 account, 1 region"
    assert rows[shared].verdict == "in-flight"  # the sweep started its scan
    layer_row = rows["layer:libs:1"]
    assert layer_row.kind == KIND_LAMBDA_LAYER
    assert layer_row.where() == "runs in 2 functions in 1 account, 1 region"
    doc = row_dict(layer_row, lambda uri: uri)
    assert doc["image"] is None and doc["arn"] == world["layer"]["LayerVersionArn"]
    assert doc["code_sha256"] == world["layer"]["Content"]["CodeSha256"]
    assert doc["kind"] == KIND_LAMBDA_LAYER and doc["name"] == "layer:libs:1"
    from scanner_runner.cli.status import render_table  # the CLI's table names them too

    table = render_table(list(rows.values()), NOW)
    hex_prefix = code_key(doc["code_sha256"]).removeprefix("code#sha256:")[:12]
    assert any(line.startswith("layer:libs:1") and hex_prefix in line for line in table.split("\n"))


def test_old_code_scans_are_rescanned_and_fresh_ones_are_not(
    world: dict[str, Any], cache: ScanCacheTable, layers: Stubber
) -> None:
    fns, layer = world["functions"], world["layer"]
    shared, other = fns["orders"]["CodeSha256"], fns["mailer"]["CodeSha256"]
    verdict = Verdict("passed", fns["orders"]["FunctionArn"], "b:1", "s3://b/r/report.json", {})
    cache.record(code_key(shared), verdict, now=NOW - 8 * 86400, keep_seconds=30 * 86400)
    cache.record(code_key(other), verdict, now=NOW - 3600, keep_seconds=86400)
    layer_sha = layer["Content"]["CodeSha256"]
    cache.record(code_key(layer_sha), verdict, now=NOW - 3600, keep_seconds=86400)
    layer_answer(layers, layer["LayerVersionArn"], layer["Content"]["CodeSha256"])
    result, launcher = sweep(cache, layers)
    assert [(r.kind, r.code_sha256) for r in launcher.requests] == [(KIND_LAMBDA_ZIP, shared)]
    reasons = {x.code.code_sha256: x.reason for x in result.lines if x.code}
    assert reasons == {shared: "rescan-due", other: "scanned-recently",
                       layer_sha: "scanned-recently"}  # fmt: skip


def test_a_deleted_layer_version_is_noted_and_the_function_still_scanned(
    world: dict[str, Any], cache: ScanCacheTable, layers: Stubber
) -> None:
    arn = world["layer"]["LayerVersionArn"]
    layers.add_client_error("get_layer_version_by_arn", "ResourceNotFoundException",
                          expected_params={"Arn": arn})  # fmt: skip
    result, launcher = sweep(cache, layers)
    assert {r.kind for r in launcher.requests} == {KIND_LAMBDA_ZIP}
    assert len(launcher.requests) == 2
    assert not result.retry
    assert not any(x.code and x.code.kind == KIND_LAMBDA_LAYER for x in result.lines)


def test_any_other_layer_error_fails_the_unit_for_a_retry(
    world: dict[str, Any], cache: ScanCacheTable, layers: Stubber
) -> None:
    layers.add_client_error("get_layer_version_by_arn", "ServiceException")
    result, launcher = sweep(cache, layers)
    assert result.retry and not launcher.requests


def test_function_filters_apply_to_zip_code_and_its_layers(
    world: dict[str, Any], cache: ScanCacheTable, layers: Stubber
) -> None:
    layer = world["layer"]
    layer_answer(layers, layer["LayerVersionArn"], layer["Content"]["CodeSha256"])
    config = settings(sweep=SweepSettings(regions=(REGION,)),
                      filters=Filters(exclude_functions=("orders", "billing")))  # fmt: skip
    result, launcher = sweep(cache, layers, config=config)
    assert [r.code_arn for r in launcher.requests] == [world["functions"]["mailer"]["FunctionArn"]]
    skipped = {x.reason for x in result.lines if x.action == "skip"}
    assert skipped == {"excluded-function"}


def test_the_swept_code_event_is_refused_without_a_valid_arn() -> None:
    from dispatcher import model as m
    from dispatcher.ziproutes import swept_code

    origin = m.Origin("sweep", HOME, REGION, "e1")
    bad = swept_code({"kind": KIND_LAMBDA_LAYER, "arn": "arn:aws:lambda:x", "codeSha256": "x"},
                     origin)  # fmt: skip
    assert [getattr(b, "reason", None) for b in bad] == [m.INVALID_EVENT]
