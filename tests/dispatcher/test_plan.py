"""Planning: compare plans for our fixtures, with a fake resolver or none (offline)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dispatcher import model as m
from dispatcher.envelope import read_records
from dispatcher.plan import plan
from dispatcher.resolve import FunctionImage, OfflineResolver
from dispatcher.routes import MAX_CONTAINERS
from dispatcher.settings import Filters
from tests.dispatcher.conftest import ACCOUNT, D1, ECR, REGION, load_event, settings
from tests.dispatcher.fakes import FakeResolver, task_definition

TD = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/checkout:7"
FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:thumbnailer"
D2 = "sha256:" + "9a" * 32
D3 = "sha256:" + "5e" * 32


def _plan(raw: Any, resolver: Any = None, **changes: Any) -> list[m.Decision]:
    return plan(read_records(raw), settings(**changes), resolver or OfflineResolver())


def _lines(decisions: list[m.Decision]) -> list[tuple[Any, ...]]:
    return [
        (d["action"], d["image"], d["digest"], d["reason"], d["container"])
        for d in map(m.decision_line, decisions)
    ]


def test_task_state_change_plans_one_build_per_image() -> None:
    decisions = _plan(load_event("ecs-task-running.json"))
    assert _lines(decisions) == [
        ("build", f"{ECR}/shop/checkout:2.3.1", D1, None, "checkout"),
        ("build", "envoyproxy/envoy:v1.29.1", None, None, "envoy"),
    ]
    checkout, envoy = decisions
    assert isinstance(checkout, m.Build) and isinstance(envoy, m.Build)
    assert checkout.key == f"digest#{D1}"
    assert envoy.key == "ref#docker.io/envoyproxy/envoy:v1.29.1"
    assert checkout.request.environment()["TRIGGER"] == "ecs:TaskStateChange"
    assert checkout.request.environment()["RESOURCE_ARN"].startswith("arn:aws:ecs:")


def test_offline_lookups_are_needs_lookup_skips() -> None:
    for name in ("ecs-create-service.json", "lambda-create-function-image.json"):
        (skip,) = _plan(load_event(name))
        assert isinstance(skip, m.Skip)
        assert skip.reason == m.NEEDS_LOOKUP
        assert not skip.retry


def test_task_definition_lookup_with_platform_and_ecr_digest() -> None:
    resolver = FakeResolver(
        task_definitions={
            TD: task_definition(
                TD, f"{ECR}/shop/checkout:2.3.1", "nginx:1.27", platform="linux/arm64"
            )
        },
        digests={f"{ECR}/shop/checkout:2.3.1": D2},
    )
    decisions = _plan(load_event("ecs-create-service.json"), resolver)
    assert _lines(decisions) == [
        ("build", f"{ECR}/shop/checkout:2.3.1", D2, None, "c0"),
        ("build", "nginx:1.27", None, None, "c1"),
    ]
    env = decisions[0].request.environment()  # type: ignore[union-attr]
    assert env["IMAGE_PLATFORM"] == "linux/arm64"
    assert env["RESOURCE_ARN"].endswith(":service/payments/checkout")
    assert env["PULL_ROLE_ARN"] == f"arn:aws:iam::{ACCOUNT}:role/deployscan-read"


def test_task_without_image_keeps_the_reported_digest() -> None:
    resolver = FakeResolver(task_definitions={TD: task_definition(TD, f"{ECR}/shop/checkout:2")})
    event = load_event("ecs-task-running-no-image.json")
    event["detail"]["containers"][0]["name"] = "c0"
    (build,) = _plan(event, resolver)
    assert isinstance(build, m.Build)
    assert build.request.digest == D1
    assert resolver.calls == {"ecs:DescribeTaskDefinition": 1}  # no DescribeImages needed


def test_lambda_digest_comes_from_the_resolved_uri() -> None:
    uri = f"{ECR}/media/thumbnailer:1.0"
    resolver = FakeResolver(
        functions={FN: FunctionImage(FN, uri, f"{ECR}/media/thumbnailer@{D3}", "linux/arm64")}
    )
    (build,) = _plan(load_event("lambda-create-function-image.json"), resolver)
    assert isinstance(build, m.Build)
    assert (build.image, build.request.digest, build.request.platform) == (uri, D3, "linux/arm64")
    assert build.key == f"digest#{D3}"


def test_not_found_is_a_skip_but_a_transient_failure_retries() -> None:
    (skip,) = _plan(load_event("ecs-create-service.json"), FakeResolver())
    assert (skip.reason, skip.retry) == (m.LOOKUP_FAILED, False)  # type: ignore[union-attr]


def test_duplicates_in_one_batch_build_once() -> None:
    decisions = _plan(load_event("duplicates.json"))
    builds = [d for d in decisions if isinstance(d, m.Build)]
    assert [b.key for b in builds] == [f"digest#{D1}", "ref#docker.io/envoyproxy/envoy:v1.29.1"]
    dups = [d for d in decisions if isinstance(d, m.Skip)]
    assert [d.reason for d in dups] == [m.DUPLICATE] * 3
    # the same event twice still gives two distinct records
    assert len({d.origin.record_id for d in decisions}) == 3


def test_hostile_references_are_all_invalid_image_reference() -> None:
    decisions = _plan(load_event("hostile-image-references.json"))
    assert len(decisions) == 12
    assert {d.reason for d in decisions if isinstance(d, m.Skip)} == {m.INVALID_IMAGE_REFERENCE}
    assert not [d for d in decisions if isinstance(d, m.Build)]


def test_hostile_wrong_types_fail_their_own_records_only() -> None:
    decisions = _plan(load_event("hostile-wrong-types.json"))
    by_record: dict[str, list[str]] = {}
    for d in decisions:
        by_record.setdefault(d.origin.record_id, []).append(
            "build" if isinstance(d, m.Build) else d.reason
        )
    assert by_record == {
        "w1": [m.INVALID_EVENT],
        "w2": [m.INVALID_EVENT],
        "w3": [m.INVALID_EVENT, "build"],
        "w4": [m.INVALID_EVENT],
        "w5": [m.INVALID_EVENT],
        "w6": [m.INVALID_EVENT],
        "#6": [m.UNREADABLE_RECORD],
        "#7": [m.UNREADABLE_RECORD],
    }


@pytest.mark.parametrize(
    ("filters", "reasons"),
    [
        (Filters(exclude_repositories=("envoyproxy/*",)), ["build", m.EXCLUDED_REPOSITORY]),
        (Filters(include_repositories=("shop/*",)), ["build", m.EXCLUDED_REPOSITORY]),
        (Filters(exclude_repositories=(f"{ECR}/shop/*",)), [m.EXCLUDED_REPOSITORY, "build"]),
        (Filters(exclude_clusters=("payments",)), [m.EXCLUDED_CLUSTER]),
        (Filters(include_clusters=("batch-*",)), [m.EXCLUDED_CLUSTER]),
        (Filters(exclude_functions=("thumb*",)), ["build", "build"]),
    ],
)
def test_filters(filters: Filters, reasons: list[str]) -> None:
    decisions = _plan(load_event("ecs-task-running.json"), filters=filters)
    assert ["build" if isinstance(d, m.Build) else d.reason for d in decisions] == reasons


def test_function_filter_skips_before_any_lookup() -> None:
    resolver = FakeResolver()
    filters = Filters(exclude_functions=("thumb*",))
    (skip,) = _plan(load_event("lambda-create-function-image.json"), resolver, filters=filters)
    assert skip.reason == m.EXCLUDED_FUNCTION  # type: ignore[union-attr]
    assert not resolver.calls


def test_invalid_account_becomes_invalid_build_request() -> None:
    event = load_event("ecs-task-running.json")
    event["account"] = "1010101010101"  # 13 digits, as in some redacted samples
    decisions = _plan(event)
    assert {d.reason for d in decisions} == {m.INVALID_BUILD_REQUEST}  # type: ignore[union-attr]


def test_digest_contradicting_the_reference_is_refused() -> None:
    event = load_event("ecs-task-running.json")
    event["detail"]["containers"][0]["image"] = f"{ECR}/shop/checkout@{D2}"
    decisions = _plan(event)
    assert decisions[0].reason == m.INVALID_IMAGE_REFERENCE  # type: ignore[union-attr]


def test_planning_is_repeatable() -> None:
    raw = load_event("sqs-batch.json")
    assert _lines(_plan(raw)) == _lines(_plan(raw))


def test_wrongly_typed_architectures_are_ignored_not_a_crash() -> None:
    event = load_event("lambda-create-function-image.json")
    event["detail"]["responseElements"]["architectures"] = [{"x": 1}]
    event["detail"]["requestParameters"]["architectures"] = [["arm64"]]
    (skip,) = _plan(event)
    assert skip.reason == m.NEEDS_LOOKUP  # type: ignore[union-attr]


class ExplodingResolver(FakeResolver):
    def task_definition(self, account: str | None, region: str | None, ref: str) -> Any:
        raise RuntimeError("a bug, not an AWS answer")


def test_a_record_that_crashes_the_planner_fails_alone_and_frees_its_images() -> None:
    poison = load_event("ecs-task-running-no-image.json")
    poison["id"] = "poison"
    poison["detail"]["containers"].insert(0, {"name": "web", "image": "nginx:1.27"})
    healthy = load_event("ecs-task-running.json")
    healthy["detail"]["containers"][1]["image"] = "nginx:1.27"
    batch = {
        "Records": [
            {"messageId": "a", "body": json.dumps(poison)},
            {"messageId": "b", "body": json.dumps(healthy)},
        ]
    }
    decisions = _plan(batch, ExplodingResolver())
    first, *rest = decisions
    assert isinstance(first, m.Skip)
    assert (first.origin.record_id, first.reason, first.retry) == ("a", m.UNREADABLE_RECORD, True)
    assert "RuntimeError" in first.detail
    # nginx was claimed by the poison record; it must still be built for record b
    assert [(d.origin.record_id, d.image) for d in rest if isinstance(d, m.Build)] == [
        ("b", f"{ECR}/shop/checkout:2.3.1"),
        ("b", "nginx:1.27"),
    ]


def test_missing_fields_are_skips_with_reasons_and_never_a_crash() -> None:
    decisions = _plan(load_event("hostile-missing-fields.json"))
    assert [(d.origin.record_id, d.reason, d.retry) for d in decisions] == [  # type: ignore[union-attr]
        ("m1", m.INVALID_EVENT, True),  # no detail-type
        ("m2", m.INVALID_EVENT, True),  # no detail
        ("m3", m.NO_IMAGES, False),  # RUNNING, but no containers and no task definition
        ("m4", m.TASK_NOT_RUNNING, False),  # no lastStatus
        ("m5", m.INVALID_EVENT, True),  # CloudTrail without eventName
        ("m6", m.INVALID_EVENT, False),  # RunTask naming no task definition
        ("m7", m.INVALID_EVENT, False),  # RegisterTaskDefinition without definitions or name
        ("m8", m.NEEDS_LOOKUP, False),  # image function without imageUri: GetFunction knows it
        ("m9", m.INVALID_EVENT, False),  # CreateFunction naming no function
    ]


def test_missing_image_uri_of_an_image_function_is_looked_up() -> None:
    uri = f"{ECR}/media/thumbnailer:1.0"
    resolver = FakeResolver(
        functions={"thumbnailer": FunctionImage(FN, uri, f"{ECR}/media/thumbnailer@{D3}", None)}
    )
    event = load_event("hostile-missing-fields.json")[7]
    del event["detail"]["responseElements"]["functionArn"]
    (build,) = _plan(event, resolver)
    assert isinstance(build, m.Build)
    assert (build.image, build.request.digest, build.request.platform) == (uri, D3, "linux/arm64")


def test_huge_task_definition_fixture_is_bounded() -> None:
    resolver = FakeResolver(digests={})
    decisions = _plan(load_event("hostile-huge-task-definition.json"), resolver)
    first, *rest = decisions
    assert isinstance(first, m.Skip) and first.reason == m.TOO_MANY_CONTAINERS
    assert first.detail == "80 containers"
    assert len(rest) == MAX_CONTAINERS
    assert all(isinstance(d, m.Build) for d in rest)
    assert resolver.calls == {"ecr:DescribeImages": MAX_CONTAINERS}
