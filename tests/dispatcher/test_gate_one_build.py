"""A gated image and the same image arriving through the event path (the dispatcher's core)
start exactly one build between them, in either order and at the same time: both go through
the scan cache's lease in moto."""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.stub import Stubber

from dispatcher import model as m
from dispatcher.core import dispatch
from dispatcher.dedup import Memo
from dispatcher.gate import ecs_hook
from dispatcher.resolve import OfflineResolver
from dispatcher.scancache import ScanCacheTable
from tests.dispatcher.conftest import ECR, REGION, TABLE, RecordingLauncher, image_event, settings
from tests.dispatcher.gatekit import NOW, payload, runtime

REVISION = (
    "arn:aws:ecs:eu-central-1:210987654321:service-revision/shop/checkout/5512903384417726011"
)
DIGEST = f"sha256:{1:064x}"  # the digest image_event(1) carries


def gate(dynamodb: Any, launcher: RecordingLauncher) -> dict[str, Any]:
    client = boto3.client("ecs", region_name=REGION)
    stub = Stubber(client)
    containers = [{"containerName": "app", "image": f"{ECR}/svc1:1", "imageDigest": DIGEST}]
    stub.add_response(
        "describe_service_revisions",
        {"serviceRevisions": [{"serviceRevisionArn": REVISION, "containerImages": containers}]},
        {"serviceRevisionArns": [REVISION]},
    )
    stub.activate()
    run = runtime(dynamodb, clients={"ecs": client}, launcher=launcher)
    return ecs_hook.answer(payload("gate-ecs-hook.json"), run)


def event_path(dynamodb: Any, launcher: RecordingLauncher) -> list[str]:
    result = dispatch(
        image_event(1), settings(), OfflineResolver(),
        cache=ScanCacheTable(dynamodb, TABLE), launcher=launcher,
        clock=lambda: NOW, memo=Memo(),
    )  # fmt: skip
    return [m.decision_line(o)["reason"] for o in result.outcomes]


def test_gate_first_then_event_builds_once(dynamodb: Any) -> None:
    launcher = RecordingLauncher()
    assert gate(dynamodb, launcher)["hookStatus"] == "IN_PROGRESS"
    assert event_path(dynamodb, launcher) == [m.SCAN_IN_PROGRESS]
    [request] = launcher.requests
    assert (request.trigger, request.environment()["IMAGE_DIGEST"]) == ("gate:ecs-hook", DIGEST)


def test_event_first_then_gate_builds_once(dynamodb: Any) -> None:
    launcher = RecordingLauncher()
    assert event_path(dynamodb, launcher) == [m.STARTED]
    response = gate(dynamodb, launcher)
    assert response["hookStatus"] == "IN_PROGRESS"
    assert "scan in progress" in response["reason"]
    assert len(launcher.requests) == 1


def test_gate_and_event_at_the_same_time_build_once(dynamodb: Any) -> None:
    launcher = RecordingLauncher()
    barrier = threading.Barrier(2)
    answers: dict[str, Any] = {}  # a thread that raised leaves its answer out

    def run_gate() -> None:
        barrier.wait()
        answers["gate"] = gate(dynamodb, launcher)["hookStatus"]

    def run_event() -> None:
        barrier.wait()
        answers["event"] = event_path(dynamodb, launcher)

    threads = [threading.Thread(target=run_gate), threading.Thread(target=run_event)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(launcher.requests) == 1
    # Both answered: the gate waits for the one build, the event started it or found it running.
    assert answers["gate"] == "IN_PROGRESS"
    assert answers["event"] in ([m.STARTED], [m.SCAN_IN_PROGRESS])
