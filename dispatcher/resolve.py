"""The lookup seam: task definitions, Lambda images, ECR tag digests and image sizes.

`Resolver` is the interface the planner uses; `resolve_aws.AwsResolver` asks AWS (through a
read-only role in the owning account), `OfflineResolver` refuses every lookup so `--offline`
makes no AWS call at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from dispatcher.errors import NeedsLookup
from dispatcher.events import ContainerImage
from dispatcher.imageref import ImageRef
from dispatcher.lambdacode import CodeTarget, FunctionCode


@dataclass(frozen=True)
class TaskDefinition:
    """What a task definition says about its images."""

    arn: str
    containers: tuple[ContainerImage, ...]
    platform: str | None


@dataclass(frozen=True)
class FunctionImage:
    """A Lambda image function as deployed: `resolved_uri` is pinned to a digest."""

    arn: str
    image_uri: str | None
    resolved_uri: str | None
    platform: str | None


class Resolver(Protocol):
    """Answers the planner's lookups; every call may raise `ResolveError`."""

    def home_account(self) -> str | None:
        """The account the builds run in, when known."""
        ...

    def task_definition(self, account: str | None, region: str | None, ref: str) -> TaskDefinition:
        """`ecs:DescribeTaskDefinition` in the task's account and region."""
        ...

    def function_image(self, account: str | None, region: str | None, name: str) -> FunctionImage:
        """`lambda:GetFunction` in the function's account and region."""
        ...

    def image_digest(self, image: ImageRef) -> str | None:
        """The digest a private ECR tag points at (`ecr:DescribeImages`); None if unknown."""
        ...

    def function_code(self, account: str | None, region: str | None, arn: str) -> FunctionCode:
        """`lambda:GetFunction` of a zip function (its code hash), in its account and region."""
        ...

    def layer_code(self, account: str | None, region: str | None, arn: str) -> CodeTarget:
        """`lambda:GetLayerVersionByArn`, asked in `account` (which may use another's layer)."""
        ...

    def image_size(self, image: ImageRef) -> int | None:
        """A private ECR image's `imageSizeInBytes` (`ecr:DescribeImages`); None if unknown."""
        ...

    def pull_role_arn(self, image: ImageRef) -> str | None:
        """The role a build assumes to pull `image` from another account's ECR, if any."""
        ...

    def code_role_arn(self, account: str | None, region: str | None) -> str | None:
        """The role a build assumes to fetch another account's Lambda code, if any."""
        ...


class OfflineResolver:
    """Makes no AWS call: every lookup raises `NeedsLookup`."""

    def home_account(self) -> str | None:
        """Unknown offline."""
        return None

    def task_definition(self, account: str | None, region: str | None, ref: str) -> TaskDefinition:
        """Always `NeedsLookup`."""
        raise NeedsLookup(f"task definition {ref[:200]} needs ecs:DescribeTaskDefinition")

    def function_image(self, account: str | None, region: str | None, name: str) -> FunctionImage:
        """Always `NeedsLookup`."""
        raise NeedsLookup(f"function {name[:200]} needs lambda:GetFunction")

    def function_code(self, account: str | None, region: str | None, arn: str) -> FunctionCode:
        """Always `NeedsLookup`."""
        raise NeedsLookup(f"function {arn[:200]} needs lambda:GetFunction for its code hash")

    def layer_code(self, account: str | None, region: str | None, arn: str) -> CodeTarget:
        """Always `NeedsLookup`."""
        raise NeedsLookup(f"layer {arn[:200]} needs lambda:GetLayerVersionByArn")

    def image_digest(self, image: ImageRef) -> str | None:
        """Always `NeedsLookup`."""
        raise NeedsLookup(f"{image} needs ecr:DescribeImages for its digest")

    def image_size(self, image: ImageRef) -> int | None:
        """Unknown offline: the size rule of the compute tier is left out."""
        return None

    def pull_role_arn(self, image: ImageRef) -> str | None:
        """Unknown offline: the build pulls with its own role."""
        return None

    def code_role_arn(self, account: str | None, region: str | None) -> str | None:
        """Unknown offline: the build fetches with its own role."""
        return None
