"""The routing table: one test per row, and the negative cases around it."""

from __future__ import annotations

from typing import Any

import pytest

from dispatcher import model as m
from dispatcher.events import (
    EventBridgeEvent,
    FunctionTarget,
    ImagesTarget,
    TaskDefinitionTarget,
    ZipTarget,
)
from dispatcher.routes import MAX_CONTAINERS, ROUTES, extract, find_route
from tests.dispatcher.conftest import ACCOUNT, D1, ECR, REGION, load_event

TD = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/checkout:7"

# Each routing row -> the fixture that exercises it.
ROW_FIXTURES = {
    "ecs:TaskStateChange": "ecs-task-running.json",
    "ecs:RegisterTaskDefinition": "ecs-register-task-definition.json",
    "ecs:RunTask": "ecs-run-task.json",
    "ecs:StartTask": "ecs-start-task.json",
    "ecs:CreateService": "ecs-create-service.json",
    "ecs:UpdateService": "ecs-update-service.json",
    "ecs:CreateTaskSet": "ecs-create-task-set.json",
    "lambda:CreateFunction": "lambda-create-function-image.json",
    "lambda:UpdateFunctionCode": "lambda-update-function-code-image.json",
    "lambda:UpdateFunctionConfiguration": "lambda-update-function-configuration.json",
    "sweep": "sweep-image.json",
    "lambda:PublishLayerVersion": "lambda-publish-layer-version.json",
}


def _extract(name: str) -> list[Any]:
    return extract(EventBridgeEvent(load_event(name)), "r1")


def test_every_row_has_a_fixture_and_routes_to_itself() -> None:
    assert {route.trigger for route in ROUTES} == set(ROW_FIXTURES)
    for route in ROUTES:
        assert find_route(EventBridgeEvent(load_event(ROW_FIXTURES[route.trigger]))) is route


def test_task_state_change_names_images_and_digests() -> None:
    (target,) = _extract("ecs-task-running.json")
    assert isinstance(target, ImagesTarget)
    assert [(c.container, c.image, c.digest) for c in target.images] == [
        ("checkout", f"{ECR}/shop/checkout:2.3.1", D1),
        ("envoy", "envoyproxy/envoy:v1.29.1", None),
    ]
    assert target.origin.trigger == "ecs:TaskStateChange"
    assert target.origin.resource_arn is not None
    assert target.origin.resource_arn.endswith("task/payments/5f1e0c2a9b7d4e61a3c8f0b2d4e6a8c0")
    assert (target.origin.account, target.origin.region) == (ACCOUNT, REGION)
    assert target.cluster == f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/payments"


def test_task_state_change_without_image_falls_back_to_the_task_definition() -> None:
    (target,) = _extract("ecs-task-running-no-image.json")
    assert isinstance(target, TaskDefinitionTarget)
    assert target.task_definition == TD
    assert target.digests == {"checkout": D1}
    assert target.only_containers == frozenset({"checkout"})


def test_stopped_task_is_skipped() -> None:
    (skip,) = _extract("ecs-task-stopped.json")
    assert isinstance(skip, m.Skip)
    assert skip.reason == m.TASK_NOT_RUNNING


def test_register_task_definition_reads_the_request() -> None:
    (target,) = _extract("ecs-register-task-definition.json")
    assert isinstance(target, ImagesTarget)
    assert target.platform == "linux/arm64"
    assert target.origin.resource_arn == TD
    agent = target.images[1]
    assert agent.image == "registry.example.net:8443/observability/agent:5"
    assert agent.registry_credentials_arn is not None
    assert agent.registry_credentials_arn.endswith(":secret:registry-example-Q1w2E3")


def test_register_task_definition_truncated_asks_ecs() -> None:
    (target,) = _extract("ecs-register-task-definition-truncated.json")
    assert isinstance(target, TaskDefinitionTarget)
    assert target.task_definition == TD


def test_register_task_definition_uses_the_response_when_the_request_lacks_images() -> None:
    event = load_event("ecs-register-task-definition-truncated.json")
    response = event["detail"]["responseElements"]["taskDefinition"]
    response["containerDefinitions"] = [{"name": "a", "image": "nginx:1.27"}]
    (target,) = extract(EventBridgeEvent(event), "r1")
    assert isinstance(target, ImagesTarget)
    assert [c.image for c in target.images] == ["nginx:1.27"]


@pytest.mark.parametrize(
    ("name", "cluster", "resource"),
    [
        ("ecs-run-task.json", "payments", "task/payments/"),
        ("ecs-start-task.json", "batch", "task/batch/"),
        ("ecs-create-service.json", "payments", "service/payments/checkout"),
        ("ecs-update-service.json", "payments", "service/payments/checkout"),
        ("ecs-create-task-set.json", "payments", "task-set/payments/checkout"),
    ],
)
def test_ecs_calls_resolve_through_the_task_definition(
    name: str, cluster: str, resource: str
) -> None:
    (target,) = _extract(name)
    assert isinstance(target, TaskDefinitionTarget)
    assert target.task_definition == TD
    assert target.cluster == cluster
    assert target.origin.resource_arn is not None
    assert resource in target.origin.resource_arn


def test_create_service_falls_back_to_the_requested_family() -> None:
    event = load_event("ecs-create-service.json")
    event["detail"]["responseElements"] = None
    (target,) = extract(EventBridgeEvent(event), "r1")
    assert isinstance(target, TaskDefinitionTarget)
    assert target.task_definition == "checkout"


def test_desired_count_only_update_is_a_skip() -> None:
    (skip,) = _extract("ecs-update-service-desired-count.json")
    assert isinstance(skip, m.Skip)
    assert skip.reason == m.NO_TASK_DEFINITION_CHANGE
    assert skip.origin.trigger == "ecs:UpdateService"


def test_lambda_image_functions() -> None:
    (create,) = _extract("lambda-create-function-image.json")
    assert isinstance(create, FunctionTarget)
    assert create.image == f"{ECR}/media/thumbnailer:1.0"
    assert create.platform == "linux/arm64"
    assert create.function.endswith(":function:thumbnailer")
    (update,) = _extract("lambda-update-function-code-image.json")
    assert isinstance(update, FunctionTarget)
    assert update.image == f"{ECR}/media/thumbnailer:1.1"
    assert update.platform == "linux/amd64"
    assert update.origin.trigger == "lambda:UpdateFunctionCode"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("lambda-update-function-configuration.json", m.CONFIGURATION_ONLY),
        ("lambda-create-function-url-config.json", m.UNSUPPORTED_EVENT),
        ("ecs-failed-call.json", m.API_CALL_FAILED),
        ("ecr-image-push.json", m.UNSUPPORTED_EVENT),
    ],
)
def test_skips_with_reasons(name: str, reason: str) -> None:
    (skip,) = _extract(name)
    assert isinstance(skip, m.Skip)
    assert skip.reason == reason
    assert not skip.retry


@pytest.mark.parametrize(
    "suffix", ["", "20150331", "20150331v2", "20240101v13"]
)  # the API version suffix varies
def test_lambda_event_names_match_by_base_name_and_version(suffix: str) -> None:
    event = load_event("lambda-update-function-code-image.json")
    event["detail"]["eventName"] = "UpdateFunctionCode" + suffix
    assert find_route(EventBridgeEvent(event)) is not None
    event["detail"]["eventName"] = "UpdateFunctionCodeSigningConfig" + suffix
    assert find_route(EventBridgeEvent(event)) is None


def test_lambda_update_code_of_a_zip_function_is_a_zip_target() -> None:
    event = load_event("lambda-update-function-code-image.json")
    del event["detail"]["requestParameters"]["imageUri"]
    event["detail"]["responseElements"]["packageType"] = "Zip"
    (target,) = extract(EventBridgeEvent(event), "r1")
    assert isinstance(target, ZipTarget)
    assert target.kind == "lambda-zip" and target.code_sha256 is None  # looked up later


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("detail", "requestParameters"), "oops"),
        (("detail", "eventName"), 7),
        (("detail", "responseElements"), ["x"]),
    ],
)
def test_wrongly_typed_cloudtrail_fields_are_invalid_events(
    path: tuple[str, str], value: object
) -> None:
    event = load_event("ecs-create-service.json")
    event[path[0]][path[1]] = value
    (skip,) = extract(EventBridgeEvent(event), "r1")
    assert isinstance(skip, m.Skip)
    assert skip.reason == m.INVALID_EVENT
    assert skip.retry


def test_missing_task_definition_is_an_invalid_event() -> None:
    event = load_event("ecs-run-task.json")
    event["detail"]["requestParameters"].pop("taskDefinition")
    event["detail"]["responseElements"] = None
    (skip,) = extract(EventBridgeEvent(event), "r1")
    assert isinstance(skip, m.Skip)
    assert skip.reason == m.INVALID_EVENT


def test_huge_task_definition_is_bounded() -> None:
    event = load_event("ecs-register-task-definition.json")
    definitions = [{"name": f"c{i}", "image": f"nginx:{i}"} for i in range(5000)]
    event["detail"]["requestParameters"]["containerDefinitions"] = definitions
    out = extract(EventBridgeEvent(event), "r1")
    skips = [o for o in out if isinstance(o, m.Skip)]
    targets = [o for o in out if isinstance(o, ImagesTarget)]
    assert [s.reason for s in skips] == [m.TOO_MANY_CONTAINERS]
    assert len(targets[0].images) == MAX_CONTAINERS


def test_sweep_image_names_its_one_image_digest_and_place() -> None:
    (target,) = _extract("sweep-image.json")
    assert isinstance(target, ImagesTarget)
    assert [(c.container, c.image, c.digest) for c in target.images] == [
        ("checkout", f"{ECR}/shop/checkout:2.3.1", D1)
    ]
    assert (target.origin.trigger, target.platform) == ("sweep", "linux/arm64")
    assert target.cluster == f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/payments"
    assert (target.origin.account, target.origin.region) == (ACCOUNT, REGION)


def test_a_swept_lambda_image_is_a_function_target_pinned_to_its_digest() -> None:
    event = load_event("sweep-image.json")
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:report"
    event["detail"] = {"image": f"{ECR}/jobs/report:7", "digest": D1, "kind": "lambda",
                       "resourceArn": arn, "platform": "linux/amd64"}  # fmt: skip
    (target,) = extract(EventBridgeEvent(event), "r1")
    assert isinstance(target, FunctionTarget)
    assert (target.function, target.image) == (arn, f"{ECR}/jobs/report:7@{D1}")
    assert target.origin.trigger == "sweep"
