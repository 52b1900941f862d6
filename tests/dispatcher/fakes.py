"""In-process fakes for the dispatcher's seams (they count calls, like AWS would bill them)."""

from __future__ import annotations

from collections import Counter

from dispatcher.dedup import Held
from dispatcher.events import ContainerImage
from dispatcher.imageref import ImageRef
from dispatcher.model import ALREADY_SCANNED, SCAN_IN_PROGRESS
from dispatcher.resolve import FunctionImage, LookupFailed, TaskDefinition
from dispatcher.scancache import COMPLETED_STATUSES, STATUS_IN_FLIGHT


class FakeResolver:
    """A `Resolver` answering from dictionaries; unknown names are 'not found'."""

    def __init__(
        self,
        task_definitions: dict[str, TaskDefinition] | None = None,
        functions: dict[str, FunctionImage] | None = None,
        digests: dict[str, str] | None = None,
        home: str | None = "123456789012",
    ) -> None:
        self.task_definitions = task_definitions or {}
        self.functions = functions or {}
        self.digests = digests or {}
        self.home = home
        self.calls: Counter[str] = Counter()

    def home_account(self) -> str | None:
        return self.home

    def task_definition(self, account: str | None, region: str | None, ref: str) -> TaskDefinition:
        self.calls["ecs:DescribeTaskDefinition"] += 1
        if ref not in self.task_definitions:
            raise LookupFailed(f"no task definition {ref}", retryable=False)
        return self.task_definitions[ref]

    def function_image(self, account: str | None, region: str | None, name: str) -> FunctionImage:
        self.calls["lambda:GetFunction"] += 1
        if name not in self.functions:
            raise LookupFailed(f"no function {name}", retryable=False)
        return self.functions[name]

    def image_digest(self, image: ImageRef) -> str | None:
        self.calls["ecr:DescribeImages"] += 1
        return self.digests.get(str(image))

    def pull_role_arn(self, image: ImageRef) -> str | None:
        ecr = image.ecr
        if ecr is None or ecr.account == self.home:
            return None
        return f"arn:aws:iam::{ecr.account}:role/deployscan-read"


def task_definition(arn: str, *images: str, platform: str | None = None) -> TaskDefinition:
    """A task definition with one container per image, named c0, c1, ..."""
    containers = tuple(ContainerImage(image, f"c{i}") for i, image in enumerate(images))
    return TaskDefinition(arn, containers, platform)


class FakeScanCache:
    """A `ScanCache` in a dict with the same rules as the DynamoDB condition."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, object]] = {}
        self.calls = 0

    def acquire(
        self, key: str, *, image: str, lease_id: str, now: float, seconds: int, ttl: int
    ) -> Held | None:
        self.calls += 1
        old = self.items.get(key)
        if old is not None:
            status = old["status"]
            free = (
                float(old["expires_at"]) < now  # type: ignore[arg-type]
                or status == "error"
                or float(old.get("completed_at", now)) < now - ttl  # type: ignore[arg-type]
            )
            if not free:
                if status in COMPLETED_STATUSES:
                    return Held(key, ALREADY_SCANNED)
                return Held(key, SCAN_IN_PROGRESS, settled="build_id" in old)
        self.items[key] = {
            "status": STATUS_IN_FLIGHT,
            "lease_id": lease_id,
            "expires_at": now + seconds,
            "image": image,
        }
        return None

    def started(self, key: str, lease_id: str, build_id: str, now: float, seconds: int) -> None:
        self.calls += 1
        if self.items.get(key, {}).get("lease_id") == lease_id:
            self.items[key].update(build_id=build_id, expires_at=now + seconds)

    def release(self, key: str, lease_id: str) -> None:
        self.calls += 1
        if self.items.get(key, {}).get("lease_id") == lease_id:
            del self.items[key]
