"""Listing one unit: batches, pagination, throttling answered by backoff, hostile answers, the
member role, and GetFunction only for functions whose code changed."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from dispatcher.errors import LookupFailed
from dispatcher.scanitems import KnownFunction
from dispatcher.sweep.core import AwsUnitClients
from dispatcher.sweep.inventory import MAX_CONTAINERS, Lister
from dispatcher.sweep.messages import Unit
from dispatcher.sweep.plan import group
from tests.dispatcher.conftest import settings

CLUSTER = "arn:aws:ecs:eu-central-1:123456789012:cluster/prod"
DIGEST = "sha256:" + "d4" * 32


def _throttle(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, operation)


class FakeEcs:
    """`tasks` running tasks in one cluster, each with `containers` containers; ListTasks pages
    of 100; the first `throttles` calls of each operation are throttled."""

    def __init__(self, tasks: int, *, containers: int = 1, throttles: int = 0,
                 image: str = "registry.example.com/app:1") -> None:  # fmt: skip
        self.tasks, self.containers, self.throttles, self.image = (
            tasks,
            containers,
            throttles,
            image,
        )
        self.calls: list[tuple[str, int]] = []

    def _maybe_throttle(self, operation: str) -> None:
        if sum(1 for name, _ in self.calls if name == operation) <= self.throttles:
            raise _throttle(operation)

    def list_clusters(self, **request: Any) -> Any:
        self.calls.append(("ListClusters", 0))
        self._maybe_throttle("ListClusters")
        return {"clusterArns": [CLUSTER]}

    def list_tasks(self, **request: Any) -> Any:
        assert request["desiredStatus"] == "RUNNING" and request["cluster"] == CLUSTER
        start = int(request.get("nextToken", "0"))
        self.calls.append(("ListTasks", start))
        self._maybe_throttle("ListTasks")
        end = min(start + 100, self.tasks)
        page: dict[str, Any] = {"taskArns": [f"{CLUSTER}/t{i}" for i in range(start, end)]}
        if end < self.tasks:
            page["nextToken"] = str(end)
        return page

    def describe_tasks(self, **request: Any) -> Any:
        assert len(request["tasks"]) <= 100
        self.calls.append(("DescribeTasks", len(request["tasks"])))
        self._maybe_throttle("DescribeTasks")
        containers = [{"name": f"c{i}", "image": self.image, "imageDigest": DIGEST}
                      for i in range(self.containers)]  # fmt: skip
        tasks = [{"taskArn": arn, "group": "service:app", "launchType": "FARGATE",
                  "attributes": [{"name": "ecs.cpu-architecture", "value": "arm64"}],
                  "containers": containers} for arn in request["tasks"]]  # fmt: skip
        return {"tasks": tasks, "failures": []}


class NoFunctions:
    def list_functions(self, **request: Any) -> Any:
        return {"Functions": []}


def test_a_huge_task_list_is_paged_and_described_in_hundreds() -> None:
    ecs = FakeEcs(1050)
    found = Lister(ecs, NoFunctions(), sleep=lambda s: None).run({})
    assert len(found.running) == 1050 and found.complete
    described = [n for name, n in ecs.calls if name == "DescribeTasks"]
    assert described == [100] * 10 + [50]
    assert sum(1 for name, _ in ecs.calls if name == "ListTasks") == 11
    grouped = group(Unit("123456789012", "eu-central-1"), found.running, settings())
    (place,) = grouped.digests[DIGEST].places.values()
    assert (place.name, place.tasks, place.launch_type, place.platform) == (
        "prod/service:app", 1050, "FARGATE", "linux/arm64"
    )  # fmt: skip


def test_throttling_is_answered_by_backoff_not_failure() -> None:
    slept: list[float] = []
    ecs = FakeEcs(10, throttles=3)
    found = Lister(ecs, NoFunctions(), sleep=slept.append).run({})
    assert len(found.running) == 10
    assert found.throttled == 9  # three per operation
    assert slept == [0.5, 1.0, 2.0] * 3


def test_throttling_that_never_ends_fails_the_unit_for_a_retry() -> None:
    ecs = FakeEcs(10, throttles=1000)
    with pytest.raises(LookupFailed, match="throttled; retried later") as caught:
        Lister(ecs, NoFunctions(), sleep=lambda s: None).run({})
    assert caught.value.retryable


def test_hostile_images_and_container_lists_are_cut_and_never_built() -> None:
    ecs = FakeEcs(2, containers=MAX_CONTAINERS + 40, image="nginx;rm -rf /$(id)")
    found = Lister(ecs, NoFunctions(), sleep=lambda s: None).run({})
    assert len(found.running) == 2 * MAX_CONTAINERS
    assert any("containers was cut" in note for note in found.notes)
    grouped = group(Unit("123456789012", "eu-central-1"), found.running, settings())
    assert not grouped.digests
    assert {line.reason for line in grouped.skipped} == {"invalid-image-reference"}
    assert {line.action for line in grouped.skipped} == {"skip"}


class Functions:
    """ListFunctions in pages of 50 (Marker/NextMarker); GetFunction counted."""

    def __init__(self, count: int) -> None:
        self.count, self.got = count, 0

    def list_functions(self, **request: Any) -> Any:
        start = int(request.get("Marker", "0"))
        end = min(start + 50, self.count)
        page: dict[str, Any] = {"Functions": [
            {"FunctionName": f"f{i}", "FunctionArn": f"arn:aws:lambda:eu-central-1:1:function:f{i}",
             "PackageType": "Image" if i % 2 else "Zip", "CodeSha256": f"sha{i}",
             "Architectures": ["arm64"]} for i in range(start, end)]}  # fmt: skip
        if end < self.count:
            page["NextMarker"] = str(end)
        return page

    def get_function(self, **request: Any) -> Any:
        self.got += 1
        name = request["FunctionName"].rsplit(":", 1)[-1]
        uri = f"123456789012.dkr.ecr.eu-central-1.amazonaws.com/{name}"
        return {"Code": {"ImageUri": f"{uri}:1", "ResolvedImageUri": f"{uri}@{DIGEST}"}}


def test_image_functions_are_resolved_once_until_their_code_changes() -> None:
    lam = Functions(120)
    first = Lister(FakeEcs(0), lam, sleep=lambda s: None).run({})
    assert lam.got == 60 and len(first.running) == 60  # the Zip functions are not listed
    assert {r.platform for r in first.running} == {"linux/arm64"}
    known = dict(first.functions)
    arn = "arn:aws:lambda:eu-central-1:1:function:f1"
    known[arn] = KnownFunction("an older code hash", "", known[arn].resolved_uri)
    lam.got = 0
    second = Lister(FakeEcs(0), lam, sleep=lambda s: None).run(known)
    assert lam.got == 1 and len(second.running) == 60


def test_a_member_role_that_is_missing_is_unreachable_not_retried(aws: None) -> None:
    sts = boto3.client("sts", region_name="eu-central-1")
    stub = Stubber(sts)
    stub.add_client_error(
        "assume_role", service_error_code="AccessDenied", http_status_code=403,
        expected_params={"RoleArn": "arn:aws:iam::210987654321:role/deployscan-scan-access",
                         "RoleSessionName": "deployscan-sweep"},
    )  # fmt: skip
    stub.activate()

    class Session:
        def client(self, name: str, **kwargs: Any) -> Any:
            return sts if name == "sts" else boto3.client(name, **kwargs)

    clients = AwsUnitClients(Session(), "deployscan-scan-access", "123456789012")
    with pytest.raises(LookupFailed) as caught:
        clients.clients(Unit("210987654321", "eu-central-1"))
    assert not caught.value.retryable
    stub.assert_no_pending_responses()
    ecs, _ = clients.clients(Unit("123456789012", "eu-central-1"))  # home: its own session
    assert ecs.meta.region_name == "eu-central-1"
