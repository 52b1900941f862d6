"""An in-process `Resolver` for planner tests and a counting DynamoDB client (both count calls,
like AWS would bill them).

The scan-cache table has no fake: its tests run against moto's real conditional writes."""

from __future__ import annotations

from collections import Counter
from typing import Any

from dispatcher.errors import LookupFailed
from dispatcher.events import ContainerImage
from dispatcher.imageref import ImageRef
from dispatcher.lambdacode import CodeTarget, FunctionCode
from dispatcher.resolve import FunctionImage, Resolver, TaskDefinition


class FakeResolver(Resolver):
    """A `Resolver` answering from dictionaries; unknown names are 'not found'."""

    def __init__(
        self,
        task_definitions: dict[str, TaskDefinition] | None = None,
        functions: dict[str, FunctionImage] | None = None,
        digests: dict[str, str] | None = None,
        home: str | None = "123456789012",
        sizes: dict[str, int] | None = None,
        *,
        code: dict[str, FunctionCode | CodeTarget] | None = None,
    ) -> None:
        self.task_definitions = task_definitions or {}
        self.functions = functions or {}
        self.digests = digests or {}
        self.sizes = sizes or {}  # by digest, else by reference
        self.home = home
        self.code = code or {}  # zip functions and layer versions by ARN
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

    def image_size(self, image: ImageRef) -> int | None:
        self.calls["ecr:DescribeImages"] += 1
        return self.sizes.get(image.digest or str(image))

    def function_code(self, account: str | None, region: str | None, arn: str) -> FunctionCode:
        self.calls["lambda:GetFunction"] += 1
        found = self.code.get(arn)
        if not isinstance(found, FunctionCode):
            raise LookupFailed(f"no function {arn}", retryable=False)
        return found

    def layer_code(self, account: str | None, region: str | None, arn: str) -> CodeTarget:
        self.calls["lambda:GetLayerVersionByArn"] += 1
        found = self.code.get(arn)
        if not isinstance(found, CodeTarget):
            raise LookupFailed(f"no layer {arn}", retryable=False)
        return found

    def code_role_arn(self, account: str | None, region: str | None) -> str | None:
        if account is None or account == self.home:
            return None
        return f"arn:aws:iam::{account}:role/deployscan-read"

    def pull_role_arn(self, image: ImageRef) -> str | None:
        ecr = image.ecr
        if ecr is None or ecr.account == self.home:
            return None
        return f"arn:aws:iam::{ecr.account}:role/deployscan-read"


def task_definition(arn: str, *images: str, platform: str | None = None) -> TaskDefinition:
    """A task definition with one container per image, named c0, c1, ..."""
    containers = tuple(ContainerImage(image, f"c{i}") for i, image in enumerate(images))
    return TaskDefinition(arn, containers, platform)


class CountingClient:
    """A boto3 DynamoDB client that counts item reads and writes, as AWS bills them."""

    ITEM_CALLS = frozenset({"put_item", "update_item", "delete_item", "get_item", "batch_get_item"})

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)
        if name not in self.ITEM_CALLS:
            return method

        def counted(**kwargs: Any) -> Any:
            self.calls += 1
            return method(**kwargs)

        return counted
