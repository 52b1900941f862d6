"""The routing table: (source, detail-type, eventName) -> extractor, one row per deploy path.

An extractor turns one event into deploy targets and skips; it reads the event only (no lookups).
Lambda's eventNames carry an API version suffix (`CreateFunction20150331`,
`UpdateFunctionCode20150331v2`), so their rows match the base name plus an optional version.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from dispatcher import model as m
from dispatcher.errors import EventError
from dispatcher.events import (
    CLOUDTRAIL_DETAIL_TYPE,
    CloudTrailCall,
    ContainerImage,
    EventBridgeEvent,
    FunctionTarget,
    ImagesTarget,
    Target,
    TaskDefinitionTarget,
    items,
    obj,
    text,
)
from dispatcher.platforms import from_lambda_architectures, from_task_definition
from dispatcher.settings import SWEEP_TRIGGER
from dispatcher.sweep.messages import SWEEP_IMAGE, SWEEP_SOURCE
from dispatcher.ziproutes import layer_change, published_layer, swept_code, zip_function

MAX_CONTAINERS = 64  # ECS allows 10 per task definition; anything far above is hostile
Extracted = list[Target | m.Skip]
Extractor = Callable[[EventBridgeEvent, m.Origin], Extracted]

_LAMBDA_VERSION = re.compile(r"^(?:\d{8}(?:v\d+)?)?$")


@dataclass(frozen=True)
class Route:
    """One row: which events it matches and which extractor reads them."""

    source: str
    detail_type: str
    event_name: str | None  # None: the detail-type alone decides (native ECS events)
    trigger: str
    extractor: Extractor
    versioned: bool = False  # Lambda: eventName = base name + API version suffix

    def matches_name(self, name: str | None) -> bool:
        """True when a CloudTrail eventName belongs to this row."""
        if self.event_name is None or name is None:
            return self.event_name is None
        if not self.versioned:
            return name == self.event_name
        return name.startswith(self.event_name) and bool(
            _LAMBDA_VERSION.match(name[len(self.event_name) :])
        )


def task_state_change(event: EventBridgeEvent, origin: m.Origin) -> Extracted:
    """ECS Task State Change: RUNNING tasks; containers without `image` use the task definition."""
    detail = event.detail
    origin = _with(origin, resource_arn=text(detail, "taskArn") or _first(event.resources))
    cluster = text(detail, "clusterArn")
    if text(detail, "lastStatus") != "RUNNING":
        return [m.Skip(origin, m.TASK_NOT_RUNNING, detail=str(detail.get("lastStatus"))[:32])]
    if not isinstance(detail.get("containers", []), list):
        raise EventError("'containers' is not a list")
    containers, out = _bounded(items(detail, "containers"), origin)
    named, digests, missing = [], {}, set()
    for container in containers:
        name = text(container, "name")
        if "image" in container:
            named.append(ContainerImage(container["image"], name, container.get("imageDigest")))
        elif name:
            missing.add(name)
            digests[name] = container.get("imageDigest")
    if named:
        out.append(ImagesTarget(origin, tuple(named), cluster=cluster))
    task_definition = text(detail, "taskDefinitionArn")
    if (missing or not containers) and task_definition:
        only = frozenset(missing) if missing else None
        out.append(TaskDefinitionTarget(origin, task_definition, cluster, digests, only))
    if not out:
        out.append(m.Skip(origin, m.NO_IMAGES, detail="no containers and no taskDefinitionArn"))
    return out


def register_task_definition(event: EventBridgeEvent, origin: m.Origin) -> Extracted:
    """RegisterTaskDefinition: images from the request, else the response, else a lookup."""
    call = CloudTrailCall(event)
    response = obj(call.response, "taskDefinition")
    arn = text(response, "taskDefinitionArn")
    origin = _with(origin, resource_arn=arn)
    for source in (call.request, response):
        definitions = items(source, "containerDefinitions")
        if definitions and all(isinstance(d, dict) and "image" in d for d in definitions):
            containers, out = _bounded(definitions, origin)
            images = tuple(
                ContainerImage(d["image"], text(d, "name"), None, _credentials(d))
                for d in containers
            )
            out.append(ImagesTarget(origin, images, from_task_definition(source)))
            return out
    reference = arn or text(call.request, "family")
    if reference:  # CloudTrail truncates parameters above 100 KB: ask ECS instead
        return [TaskDefinitionTarget(origin, reference)]
    return [m.Skip(origin, m.INVALID_EVENT, detail="no container definitions, ARN or family")]


def task_launch(event: EventBridgeEvent, origin: m.Origin) -> Extracted:
    """RunTask / StartTask: the started tasks' task definition."""
    call = CloudTrailCall(event)
    tasks = [t for t in items(call.response, "tasks") if isinstance(t, dict)]
    first = tasks[0] if tasks else {}
    origin = _with(origin, resource_arn=text(first, "taskArn"))
    reference = text(first, "taskDefinitionArn") or text(call.request, "taskDefinition")
    cluster = text(call.request, "cluster") or text(first, "clusterArn")
    return _task_definition(origin, reference, cluster)


def create_service(event: EventBridgeEvent, origin: m.Origin) -> Extracted:
    """CreateService: the service's task definition (images are not in the event)."""
    return _deployment(event, origin, "service", "serviceArn")


def update_service(event: EventBridgeEvent, origin: m.Origin) -> Extracted:
    """UpdateService: only a call that sets a task definition deploys anything new."""
    call = CloudTrailCall(event)
    if "taskDefinition" not in call.request:
        service = obj(call.response, "service")
        origin = _with(origin, resource_arn=text(service, "serviceArn"))
        return [m.Skip(origin, m.NO_TASK_DEFINITION_CHANGE)]
    return create_service(event, origin)


def create_task_set(event: EventBridgeEvent, origin: m.Origin) -> Extracted:
    """CreateTaskSet (blue/green, external deployments): the task set's task definition."""
    return _deployment(event, origin, "taskSet", "taskSetArn")


def function_code(event: EventBridgeEvent, origin: m.Origin) -> Extracted:
    """CreateFunction… / UpdateFunctionCode…: an image function, or a Zip function's code."""
    call = CloudTrailCall(event)
    request, response = call.request, call.response
    arn = text(response, "functionArn")
    origin = _with(origin, resource_arn=arn)
    image = obj(request, "code").get("imageUri") if "code" in request else request.get("imageUri")
    package = text(response, "packageType") or text(request, "packageType")
    function = arn or text(request, "functionName")
    if function is None:
        return [m.Skip(origin, m.INVALID_EVENT, image=_image_text(image), detail="no function")]
    if package == "Zip" or (image is None and package != "Image"):
        return zip_function(call, origin)
    # An image function whose request lost its imageUri: GetFunction still knows the image.
    architectures = items(response, "architectures") or items(request, "architectures")
    return [FunctionTarget(origin, function, image, from_lambda_architectures(architectures))]


def function_configuration(event: EventBridgeEvent, origin: m.Origin) -> Extracted:
    """UpdateFunctionConfiguration… never changes the image; a new layer list is new code."""
    return layer_change(CloudTrailCall(event), origin)


def publish_layer_version(event: EventBridgeEvent, origin: m.Origin) -> Extracted:
    """PublishLayerVersion…: the new layer version's content."""
    return published_layer(CloudTrailCall(event), origin)


def sweep_image(event: EventBridgeEvent, origin: m.Origin) -> Extracted:
    """A digest the sweep found running and decided to (re)scan: one image, digest known; a
    Lambda function's as a function (its filters, not the cluster filters, apply)."""
    detail = event.detail
    arn, image, digest = text(detail, "resourceArn"), detail.get("image"), detail.get("digest")
    origin = _with(origin, resource_arn=arn)
    platform = text(detail, "platform")
    if "codeSha256" in detail:  # zip code: a function's or a layer version's
        return swept_code(detail, origin)
    if text(detail, "kind") == "lambda" and arn and isinstance(image, str):
        pinned = image if "@" in image or not isinstance(digest, str) else f"{image}@{digest}"
        return [FunctionTarget(origin, arn, pinned, platform)]
    container = ContainerImage(image, text(detail, "container"), digest)
    return [ImagesTarget(origin, (container,), platform, text(detail, "cluster"))]


ROUTES: tuple[Route, ...] = (
    Route("aws.ecs", "ECS Task State Change", None, "ecs:TaskStateChange", task_state_change),
    Route("aws.ecs", CLOUDTRAIL_DETAIL_TYPE, "RegisterTaskDefinition",
          "ecs:RegisterTaskDefinition", register_task_definition),
    Route("aws.ecs", CLOUDTRAIL_DETAIL_TYPE, "RunTask", "ecs:RunTask", task_launch),
    Route("aws.ecs", CLOUDTRAIL_DETAIL_TYPE, "StartTask", "ecs:StartTask", task_launch),
    Route("aws.ecs", CLOUDTRAIL_DETAIL_TYPE, "CreateService", "ecs:CreateService", create_service),
    Route("aws.ecs", CLOUDTRAIL_DETAIL_TYPE, "UpdateService", "ecs:UpdateService", update_service),
    Route("aws.ecs", CLOUDTRAIL_DETAIL_TYPE, "CreateTaskSet", "ecs:CreateTaskSet",
          create_task_set),
    Route("aws.lambda", CLOUDTRAIL_DETAIL_TYPE, "CreateFunction", "lambda:CreateFunction",
          function_code, versioned=True),
    Route("aws.lambda", CLOUDTRAIL_DETAIL_TYPE, "UpdateFunctionCode", "lambda:UpdateFunctionCode",
          function_code, versioned=True),
    Route("aws.lambda", CLOUDTRAIL_DETAIL_TYPE, "UpdateFunctionConfiguration",
          "lambda:UpdateFunctionConfiguration", function_configuration, versioned=True),
    Route(SWEEP_SOURCE, SWEEP_IMAGE, None, SWEEP_TRIGGER, sweep_image),
    Route("aws.lambda", CLOUDTRAIL_DETAIL_TYPE, "PublishLayerVersion",
          "lambda:PublishLayerVersion", publish_layer_version, versioned=True),
)  # fmt: skip


def find_route(event: EventBridgeEvent) -> Route | None:
    """The table row for an event, or None when no row matches."""
    name = text(event.detail, "eventName") if event.detail_type == CLOUDTRAIL_DETAIL_TYPE else None
    for route in ROUTES:
        same_kind = (route.source, route.detail_type) == (event.source, event.detail_type)
        if same_kind and route.matches_name(name):
            return route
    return None


def extract(event: EventBridgeEvent, record_id: str) -> Extracted:
    """Route one event and run its extractor; failed calls and unknown events become skips."""
    origin = m.Origin(record_id, account=event.account, region=event.region)
    try:
        route = find_route(event)
        if event.detail_type == CLOUDTRAIL_DETAIL_TYPE:
            call = CloudTrailCall(event)
            trigger = route.trigger if route else None
            origin = _with(origin, account=call.account, region=call.region, trigger=trigger)
            if call.error_code:
                return [m.Skip(origin, m.API_CALL_FAILED, detail=call.error_code[:64])]
        if route is None:
            detail = f"{event.source[:64]} / {event.detail_type[:64]}"
            return [m.Skip(origin, m.UNSUPPORTED_EVENT, detail=detail)]
        return route.extractor(event, _with(origin, trigger=route.trigger))
    except EventError as exc:
        return [m.Skip(origin, m.INVALID_EVENT, detail=str(exc), retry=True)]


def _credentials(definition: dict[str, Any]) -> str | None:
    return text(obj(definition, "repositoryCredentials"), "credentialsParameter")


def _deployment(event: EventBridgeEvent, origin: m.Origin, kind: str, arn_key: str) -> Extracted:
    """A service or task set: its task definition, from the response or else the request."""
    call = CloudTrailCall(event)
    created = obj(call.response, kind)
    origin = _with(origin, resource_arn=text(created, arn_key))
    reference = text(created, "taskDefinition") or text(call.request, "taskDefinition")
    cluster = text(call.request, "cluster") or text(created, "clusterArn")
    return _task_definition(origin, reference, cluster)


def _task_definition(origin: m.Origin, reference: str | None, cluster: str | None) -> Extracted:
    if not reference:
        return [m.Skip(origin, m.INVALID_EVENT, detail="no task definition in the event")]
    return [TaskDefinitionTarget(origin, reference, cluster)]


def _bounded(values: list[Any], origin: m.Origin) -> tuple[list[dict[str, Any]], Extracted]:
    dicts = [v for v in values if isinstance(v, dict)]
    out: Extracted = []
    if len(values) != len(dicts):
        out.append(m.Skip(origin, m.INVALID_EVENT, detail="a container entry is not an object"))
    if len(dicts) > MAX_CONTAINERS:
        out.append(m.Skip(origin, m.TOO_MANY_CONTAINERS, detail=f"{len(dicts)} containers"))
    return dicts[:MAX_CONTAINERS], out


_KEEP = "\x00keep"


def _with(
    origin: m.Origin,
    *,
    trigger: str | None = _KEEP,
    account: str | None = _KEEP,
    region: str | None = _KEEP,
    resource_arn: str | None = _KEEP,
) -> m.Origin:
    return replace(
        origin,
        trigger=origin.trigger if trigger == _KEEP else trigger,
        account=origin.account if account == _KEEP else account,
        region=origin.region if region == _KEEP else region,
        resource_arn=origin.resource_arn if resource_arn == _KEEP else resource_arn,
    )


def _first(values: list[str]) -> str | None:
    return values[0] if values else None


def _image_text(value: object) -> str | None:
    return value if isinstance(value, str) else None
