"""Zip Lambda code in the dispatcher: events -> zip targets -> one build per code hash."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from click.testing import CliRunner

from dispatcher import model as m
from dispatcher.buildvars import KIND_LAMBDA_LAYER, KIND_LAMBDA_ZIP
from dispatcher.envelope import read_records
from dispatcher.events import EventBridgeEvent, ZipTarget
from dispatcher.lambdacode import CodeTarget, FunctionCode
from dispatcher.plan import plan
from dispatcher.resolve import OfflineResolver
from dispatcher.routes import extract, find_route
from dispatcher.scancache import code_key
from scanner_runner.cli import main
from tests.dispatcher.conftest import ACCOUNT, EVENTS, REGION, load_event, settings
from tests.dispatcher.fakes import FakeResolver
from tests.lambdazip.zips import code_sha256

FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"
LAYER = f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:"


def sha(text: str) -> str:
    return code_sha256(text.encode())


def _plan(raw: Any, resolver: Any = None) -> list[m.Decision]:
    return plan(read_records(raw), settings(), resolver or OfflineResolver())


def test_code_key_is_the_hex_of_lambdas_base64_hash() -> None:
    assert code_key(code_sha256(b"code")) == f"code#sha256:{hashlib.sha256(b'code').hexdigest()}"


def test_update_function_code_of_a_zip_function_builds_its_code_offline() -> None:
    (build,) = _plan(load_event("lambda-update-function-code-zip.json"))
    assert isinstance(build, m.Build)
    assert build.key == code_key(sha("billing code v7"))
    env = build.request.environment()
    assert env["TARGET_KIND"] == KIND_LAMBDA_ZIP
    assert env["LAMBDA_ARN"] == FN + "billing:7"  # the published version, as deployed
    assert env["CODE_SHA256"] == sha("billing code v7")
    assert "IMAGE_REF" not in env and env["TRIGGER"] == "lambda:UpdateFunctionCode"
    line = m.decision_line(build)
    assert line["kind"] == KIND_LAMBDA_ZIP and line["arn"] == FN + "billing:7"
    assert line["code_sha256"] == sha("billing code v7") and line["image"] is None
    assert list(line)[:8] == [
        "action",
        "image",
        "digest",
        "reason",
        "trigger",
        "account",
        "region",
        "container",
    ]


def test_image_decisions_keep_their_shape() -> None:
    lines = [m.decision_line(d) for d in _plan(load_event("ecs-task-running.json"))]
    assert all("kind" not in line and "code_sha256" not in line for line in lines)


def test_a_published_layer_version_is_built() -> None:
    assert find_route(EventBridgeEvent(load_event("lambda-publish-layer-version.json")))
    (build,) = _plan(load_event("lambda-publish-layer-version.json"))
    assert isinstance(build, m.Build)
    env = build.request.environment()
    assert (env["TARGET_KIND"], env["LAYER_ARN"]) == (KIND_LAMBDA_LAYER, LAYER + "shared-libs:5")
    assert build.key == code_key(sha("shared-libs 5"))
    assert m.decision_line(build)["trigger"] == "lambda:PublishLayerVersion"


def test_one_code_hash_deployed_as_ten_functions_is_one_build() -> None:
    decisions = _plan(load_event("lambda-create-function-zip-fanout.json"))
    builds = [d for d in decisions if isinstance(d, m.Build)]
    skips = [d for d in decisions if isinstance(d, m.Skip)]
    assert len(builds) == 1 and len(skips) == 9
    assert {s.reason for s in skips} == {m.DUPLICATE}
    assert {m.decision_line(s)["code_sha256"] for s in skips} == {builds[0].request.code_sha256}


def test_a_configuration_only_update_starts_nothing() -> None:
    (skip,) = _plan(load_event("lambda-update-function-configuration.json"))
    assert isinstance(skip, m.Skip) and skip.reason == m.CONFIGURATION_ONLY and not skip.retry


def test_a_new_layer_list_plans_each_layer_by_its_code_hash() -> None:
    resolver = FakeResolver(
        code={
            LAYER + "shared-libs:4": CodeTarget(
                KIND_LAMBDA_LAYER, LAYER + "shared-libs:4", sha("s4")
            ),
            LAYER + "pdf-tools:2": CodeTarget(KIND_LAMBDA_LAYER, LAYER + "pdf-tools:2", sha("p2")),
        }
    )
    decisions = _plan(load_event("lambda-update-function-configuration-layers.json"), resolver)
    assert [d.key for d in decisions if isinstance(d, m.Build)] == [
        code_key(sha("s4")),
        code_key(sha("p2")),
    ]
    assert resolver.calls["lambda:GetLayerVersionByArn"] == 2
    assert resolver.calls["lambda:GetFunction"] == 0  # the function's code did not change


def test_a_layer_change_offline_needs_a_lookup() -> None:
    decisions = _plan(load_event("lambda-update-function-configuration-layers.json"))
    assert [d.reason for d in decisions if isinstance(d, m.Skip)] == [m.NEEDS_LOOKUP] * 2
    assert all(m.decision_line(d)["kind"] == KIND_LAMBDA_LAYER for d in decisions)


def test_a_zip_event_without_a_hash_asks_getfunction_and_uses_its_version() -> None:
    arn = FN + "cron-cleaner"
    code = CodeTarget(KIND_LAMBDA_ZIP, arn, sha("cron"), runtime="python3.12")
    resolver = FakeResolver(code={arn: FunctionCode(arn, "Zip", code)}, home="999999999999")
    (build,) = _plan(load_event("lambda-create-function-zip.json"), resolver)
    assert isinstance(build, m.Build) and build.request.code_sha256 == sha("cron")
    assert build.request.pull_role_arn == f"arn:aws:iam::{ACCOUNT}:role/deployscan-read"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("responseElements", "functionArn"), "arn:aws:lambda:x:1:function:$(reboot)"),
        (("responseElements", "codeSha256"), "not-base64;rm -rf"),
        (("requestParameters", "layers"), ["arn:aws:lambda:eu-central-1:1:layer:x:1`id`"]),
    ],
)
def test_hostile_zip_values_never_reach_a_build(path: tuple[str, str], value: Any) -> None:
    name = (
        "lambda-update-function-configuration-layers.json"
        if path[1] == "layers"
        else "lambda-update-function-code-zip.json"
    )
    event = load_event(name)
    event["detail"][path[0]][path[1]] = value
    decisions = _plan(event, FakeResolver())
    assert decisions and not any(isinstance(d, m.Build) for d in decisions)
    # A bad hash is dropped and asked for instead (the fake knows no such function).
    expected = m.LOOKUP_FAILED if path[1] == "codeSha256" else m.INVALID_EVENT
    assert {d.reason for d in decisions if isinstance(d, m.Skip)} == {expected}


def test_extracted_zip_targets_carry_the_events_hash() -> None:
    (target,) = extract(EventBridgeEvent(load_event("lambda-update-function-code-zip.json")), "r")
    assert isinstance(target, ZipTarget) and target.code_sha256 == sha("billing code v7")


def test_dispatch_cli_prints_zip_lines_one_build_per_code_hash() -> None:
    files = [
        str(EVENTS / n)
        for n in (
            "lambda-create-function-zip-fanout.json",
            "lambda-update-function-configuration.json",
        )
    ]
    result = CliRunner().invoke(main, ["dispatch", "--offline", *files])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["action"] for line in lines] == ["build"] + ["skip"] * 10
    assert lines[0]["kind"] == KIND_LAMBDA_ZIP and lines[0]["arn"].endswith(":function:tenant-0")
    assert {line["reason"] for line in lines[1:10]} == {m.DUPLICATE}
    assert lines[10]["reason"] == m.CONFIGURATION_ONLY and "kind" not in lines[10]
