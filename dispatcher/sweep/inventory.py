"""Listing what runs in one account-region: running ECS tasks and Lambda functions.

ECS: ListClusters -> ListTasks (desiredStatus RUNNING, 100 a page) -> DescribeTasks (100 a call).
Lambda: ListFunctions (50 a page) -> GetFunction for image functions whose code changed since the
last sweep (`known`); a zip function's `CodeSha256` and layer ARNs come with ListFunctions, each
layer version's hash from one GetLayerVersionByArn per layer version and unit (memoised: layer
versions are immutable). Throttling is answered by backoff through the injected `sleep` (up to
SLEEP_BUDGET per unit, then the unit is retried by SQS); any other error fails the unit
(`LookupFailed`), which SQS then retries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from dispatcher.buildvars import (
    CODE_SHA256_RE,
    KIND_LAMBDA_LAYER,
    KIND_LAMBDA_ZIP,
    LAYER_ARN_RE,
    MAX_LAYERS,
)
from dispatcher.errors import LookupFailed, aws_error_code
from dispatcher.events import items, obj, text
from dispatcher.platforms import from_lambda_architectures
from dispatcher.routes import MAX_CONTAINERS
from dispatcher.scanitems import KnownFunction

THROTTLED = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}
)
MAX_ATTEMPTS = 10
BACKOFF_BASE, BACKOFF_CAP = 0.5, 20.0  # seconds; 0.5, 1, 2, ... 20
# Waiting for throttling stops here per unit: the dispatcher Lambda runs 60 s, and a unit that
# needs longer is better retried by SQS later than cut off by the timeout with its whole batch.
SLEEP_BUDGET = 30.0
DESCRIBE_BATCH = 100  # DescribeTasks takes at most 100 tasks
MAX_RUNNING = 500_000  # images listed per unit; beyond, the listing is cut and marked incomplete
# A layer version deleted after functions attached it: they still run it, its hash is unknown.
_LAYER_GONE = frozenset({"ResourceNotFoundException", "AccessDeniedException"})
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class Running:
    """One image seen running (an ECS task's container or a Lambda image function), or zip code
    (a function's code or a layer version it uses: `image` its ARN, `digest` its CodeSha256)."""

    kind: str  # ecs | lambda | lambda-zip | lambda-layer
    image: object  # as the API reported it; validated later by ImageRef.parse
    digest: object
    place: str  # cluster/group (service:<name> or family:<name>), or the function name
    resource_arn: str | None = None
    container: str | None = None
    platform: str | None = None
    launch_type: str = ""
    cluster: str | None = None


@dataclass
class Inventory:
    """What one unit's listing found, how many calls it took, and what it could not read."""

    running: list[Running] = field(default_factory=list)
    functions: dict[str, KnownFunction] = field(default_factory=dict)
    calls: int = 0
    throttled: int = 0
    complete: bool = True
    notes: list[str] = field(default_factory=list)


class Lister:
    """Lists one unit with its clients (already in the unit's account and region)."""

    def __init__(self, ecs: Any, lam: Any, *, sleep: Sleep) -> None:
        self._ecs, self._lambda, self._sleep = ecs, lam, sleep
        self.found = Inventory()
        self.slept = 0.0
        self._layers: dict[str, str | None] = {}  # layer version ARN -> CodeSha256

    def run(self, known: Mapping[str, KnownFunction]) -> Inventory:
        """Both services; `known`: the functions the last sweep resolved."""
        self.ecs()
        self.functions(known)
        return self.found

    def ecs(self) -> None:
        """Every container of every RUNNING task of every cluster."""
        for cluster in self._pages("ecs:ListClusters", self._ecs.list_clusters, "clusterArns"):
            tasks = list(
                self._pages("ecs:ListTasks", self._ecs.list_tasks, "taskArns",
                            cluster=cluster, desiredStatus="RUNNING", maxResults=100)
            )  # fmt: skip
            for start in range(0, len(tasks), DESCRIBE_BATCH):
                if not self._room():
                    return
                answer = self.call(
                    "ecs:DescribeTasks",
                    self._ecs.describe_tasks,
                    cluster=cluster,
                    tasks=tasks[start : start + DESCRIBE_BATCH],
                )
                for task in items(answer, "tasks"):
                    if isinstance(task, dict):
                        self._task(cluster, task)

    def _task(self, cluster: str, task: dict[str, Any]) -> None:
        containers = [c for c in items(task, "containers") if isinstance(c, dict)]
        if len(containers) > MAX_CONTAINERS:
            self.found.notes.append(f"a task with {len(containers)} containers was cut")
        short = cluster.rsplit("/", 1)[-1]
        group = text(task, "group") or text(task, "taskDefinitionArn") or "task"
        platform = _task_platform(task)
        for container in containers[:MAX_CONTAINERS]:
            self.found.running.append(
                Running(
                    kind="ecs",
                    image=container.get("image"),
                    digest=container.get("imageDigest"),
                    place=f"{short}/{group}"[:512],
                    resource_arn=text(task, "taskArn"),
                    container=text(container, "name"),
                    platform=platform,
                    launch_type=(text(task, "launchType") or "")[:16],
                    cluster=cluster,
                )
            )

    def functions(self, known: Mapping[str, KnownFunction]) -> None:
        """Every function (`$LATEST`: what an unqualified invoke runs): image functions with
        their image, zip functions with their code and each layer they use."""
        pages = self._pages(
            "lambda:ListFunctions", self._lambda.list_functions, "Functions",
            token=("Marker", "NextMarker"),
        )  # fmt: skip
        for config in pages:
            if not isinstance(config, dict):
                continue
            if not self._room():
                return
            if (text(config, "PackageType") or "Zip") == "Zip":  # older functions carry none
                self._zip(config)
                continue
            if text(config, "PackageType") != "Image":
                continue
            arn = text(config, "FunctionArn") or text(config, "FunctionName")
            if arn is None:
                continue
            sha = text(config, "CodeSha256") or ""
            resolved = known.get(arn)
            if resolved is None or not sha or resolved.code_sha256 != sha:
                resolved = self._resolve(arn, sha)
            if resolved is None:
                continue
            self.found.functions[arn] = resolved
            image = resolved.resolved_uri
            self.found.running.append(
                Running(
                    kind="lambda",
                    image=resolved.image_uri or image,
                    digest=image.rpartition("@")[2] if "@" in image else None,
                    place=(text(config, "FunctionName") or arn)[:512],
                    resource_arn=arn,
                    platform=from_lambda_architectures(items(config, "Architectures")),
                )
            )

    def _zip(self, config: dict[str, Any]) -> None:
        """A zip function's code (hash from the listing) and the layer versions it uses."""
        arn, sha = text(config, "FunctionArn"), text(config, "CodeSha256")
        if arn is None or sha is None or not CODE_SHA256_RE.match(sha):
            self.found.notes.append(f"{str(arn)[:200]}: a zip function without a valid CodeSha256")
            return
        name = (text(config, "FunctionName") or arn)[:512]
        platform = from_lambda_architectures(items(config, "Architectures"))
        self.found.running.append(Running(KIND_LAMBDA_ZIP, arn, sha, name, arn, platform=platform))
        layers = [
            text(layer, "Arn") for layer in items(config, "Layers") if isinstance(layer, dict)
        ]
        for layer in layers[:MAX_LAYERS]:
            layer_sha = self._layer_sha(layer) if layer and LAYER_ARN_RE.match(layer) else None
            if layer is None or layer_sha is None:
                self.found.notes.append(f"{name}: a layer without a known CodeSha256 was skipped")
                continue
            self.found.running.append(
                Running(KIND_LAMBDA_LAYER, layer, layer_sha, name, arn, platform=platform)
            )

    def _layer_sha(self, arn: str) -> str | None:
        """A layer version's CodeSha256 (ListFunctions gives its ARN and size only), asked once."""
        if arn not in self._layers:
            answer = self.call("lambda:GetLayerVersionByArn", self._lambda.get_layer_version_by_arn,
                               tolerate=_LAYER_GONE, Arn=arn)  # fmt: skip
            sha = text(obj(answer, "Content"), "CodeSha256")
            self._layers[arn] = sha if sha and CODE_SHA256_RE.match(sha) else None
        return self._layers[arn]

    def _resolve(self, arn: str, sha: str) -> KnownFunction | None:
        answer = self.call("lambda:GetFunction", self._lambda.get_function, FunctionName=arn)
        code = obj(answer, "Code")
        resolved = text(code, "ResolvedImageUri")
        if resolved is None:
            self.found.notes.append(f"{arn[:200]}: GetFunction gave no ResolvedImageUri")
            return None
        return KnownFunction(sha, text(code, "ImageUri") or "", resolved)

    def _room(self) -> bool:
        if len(self.found.running) < MAX_RUNNING:
            return True
        if self.found.complete:
            self.found.complete = False
            self.found.notes.append(f"listing cut at {MAX_RUNNING} running images")
        return False

    def _pages(
        self,
        what: str,
        method: Callable[..., Any],
        key: str,
        *,
        token: tuple[str, str] = ("nextToken", "nextToken"),
        **request: Any,
    ) -> Iterator[Any]:
        """Every item of a paginated list call."""
        ask, answer_key = token
        while True:
            answer = self.call(what, method, **request)
            yield from items(answer, key)
            following = text(answer, answer_key)
            if following is None or following == request.get(ask):
                return
            request[ask] = following

    def call(
        self,
        what: str,
        method: Callable[..., Any],
        *,
        tolerate: frozenset[str] = frozenset(),
        **request: Any,
    ) -> dict[str, Any]:
        """One AWS call; throttling waits with exponential backoff, an error code in `tolerate`
        answers `{}`, other errors fail the unit."""
        for attempt in range(MAX_ATTEMPTS):
            self.found.calls += 1
            try:
                answer = method(**request)
            except Exception as exc:  # botocore errors, wrapped once at this seam
                code = aws_error_code(exc)
                if code in tolerate:
                    return {}
                if code not in THROTTLED:
                    raise LookupFailed(f"{what} failed: {code}") from exc
                self.found.throttled += 1
                delay = min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt)
                if self.slept + delay > SLEEP_BUDGET:
                    raise LookupFailed(f"{what} throttled; retried later") from exc
                self.slept += delay
                self._sleep(delay)
                continue
            return answer if isinstance(answer, dict) else {}
        raise LookupFailed(f"{what} still throttled after {MAX_ATTEMPTS} attempts")


def _task_platform(task: dict[str, Any]) -> str | None:
    """The task's `ecs.cpu-architecture` attribute as a platform (`linux/arm64`)."""
    for attribute in items(task, "attributes"):
        if isinstance(attribute, dict) and text(attribute, "name") == "ecs.cpu-architecture":
            return from_lambda_architectures([text(attribute, "value")])
    return None
