"""The member account's ECS hook (inline code in account-spoke.yaml): it hands the payload to the
hub's gate and returns its answer; when the hub cannot be asked it answers itself, per
GATE_MODE and GATE_ON_ERROR, and never raises. lambda:Invoke under a botocore Stubber."""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

HUB = "arn:aws:lambda:eu-central-1:111122223333:function:deployscan-gate-ecs-hook"
EVENT = {"executionId": "e-1", "executionDetails": {"targetServiceRevisionArn": "arn:x"}}


def forwarder(
    templates: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch, **env: str
) -> Any:
    """The inline module, loaded as Lambda would, with its client under a Stubber."""
    monkeypatch.setenv("HUB_GATE_FUNCTION", HUB)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code = templates["account-spoke"]["Resources"]["GateForwarder"]["Properties"]["Code"]["ZipFile"]
    namespace: dict[str, Any] = {"__name__": "index"}
    exec(compile(code, "index.py", "exec"), namespace)  # noqa: S102 (the template's own code)
    assert namespace["CLIENT"].meta.region_name == "eu-central-1"
    return namespace


def stubbed(
    namespace: dict[str, Any], body: bytes | None, function_error: str | None = None
) -> Stubber:
    client = boto3.client("lambda", region_name="eu-central-1")
    namespace["CLIENT"] = client
    stub = Stubber(client)
    expected = {"FunctionName": HUB, "Payload": json.dumps(EVENT).encode()}
    if body is None:
        stub.add_client_error("invoke", "AccessDeniedException", expected_params=expected)
    else:
        answer: dict[str, Any] = {
            "StatusCode": 200,
            "Payload": StreamingBody(io.BytesIO(body), len(body)),
        }
        if function_error:
            answer["FunctionError"] = function_error
        stub.add_response("invoke", answer, expected)
    stub.activate()
    return stub


def test_the_hub_answer_is_returned_unchanged(
    templates: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    module = forwarder(templates, monkeypatch)
    hub = {"hookStatus": "FAILED", "reason": "blocked: 1 of 1 image(s) denied"}
    stub = stubbed(module, json.dumps(hub).encode())
    assert module["handler"](EVENT, None) == hub
    stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    "settings",
    [
        ("enforce", "deny", "FAILED"),
        ("enforce", "allow", "SUCCEEDED"),
        ("audit", "deny", "SUCCEEDED"),
    ],
)
@pytest.mark.parametrize(
    "reply",
    [(None, None), (b"not json", None), (b'{"errorMessage": "x"}', "Unhandled"), (b"{}", None)],
)
def test_an_unreachable_hub_is_answered_per_the_settings(
    templates: dict[str, dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    settings: tuple[str, str, str],
    reply: tuple[bytes | None, str | None],
) -> None:
    mode, on_error, status = settings
    module = forwarder(templates, monkeypatch, GATE_MODE=mode, GATE_ON_ERROR=on_error)
    stubbed(module, *reply)
    answer = module["handler"](EVENT, None)
    assert answer["hookStatus"] == status
    assert "could not be asked" in answer["reason"]
