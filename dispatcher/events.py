"""Typed views over raw EventBridge events, and the deploy targets extracted from them.

The wrappers read their required fields in the constructor, so a malformed event fails with
`EventError` before anything else happens; optional fields are read defensively (wrong types are
treated as absent).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dispatcher.errors import EventError
from dispatcher.model import Origin

CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"


def text(mapping: object, key: str) -> str | None:
    """`mapping[key]` when it is a non-empty string, else None."""
    if isinstance(mapping, Mapping):
        value = mapping.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def obj(mapping: object, key: str) -> dict[str, Any]:
    """`mapping[key]` when it is an object, else an empty dict."""
    if isinstance(mapping, Mapping):
        value = mapping.get(key)
        if isinstance(value, dict):
            return value
    return {}


def items(mapping: object, key: str) -> list[Any]:
    """`mapping[key]` when it is a list, else an empty list."""
    if isinstance(mapping, Mapping):
        value = mapping.get(key)
        if isinstance(value, list):
            return value
    return []


class EventBridgeEvent:
    """An EventBridge event: `source`, `detail-type` and `detail` are required."""

    def __init__(self, raw: object) -> None:
        if not isinstance(raw, dict):
            raise EventError("event is not a JSON object")
        self.raw: dict[str, Any] = raw
        source, detail_type = raw.get("source"), raw.get("detail-type")
        if not isinstance(source, str) or not isinstance(detail_type, str):
            raise EventError("event has no string 'source' and 'detail-type'")
        detail = raw.get("detail")
        if not isinstance(detail, dict):
            raise EventError("event has no object 'detail'")
        self.source = source
        self.detail_type = detail_type
        self.detail: dict[str, Any] = detail
        self.id = text(raw, "id")
        self.account = text(raw, "account")
        self.region = text(raw, "region")

    @property
    def resources(self) -> list[str]:
        """The envelope's resource ARNs (strings only)."""
        return [r for r in items(self.raw, "resources") if isinstance(r, str)]


class CloudTrailCall:
    """The CloudTrail record inside an `AWS API Call via CloudTrail` event."""

    def __init__(self, event: EventBridgeEvent) -> None:
        detail = event.detail
        name = detail.get("eventName")
        if not isinstance(name, str) or not name:
            raise EventError("CloudTrail record has no 'eventName'")
        self.event = event
        self.event_name = name
        for key in ("requestParameters", "responseElements"):
            if detail.get(key) is not None and not isinstance(detail[key], dict):
                raise EventError(f"CloudTrail '{key}' is not an object")
        self.error_code = text(detail, "errorCode")
        self.request: dict[str, Any] = obj(detail, "requestParameters")
        self.response: dict[str, Any] = obj(detail, "responseElements")
        self.account = text(detail, "recipientAccountId") or event.account
        self.region = text(detail, "awsRegion") or event.region


@dataclass(frozen=True)
class ContainerImage:
    """One image named by an event or a task definition."""

    image: object  # the reference as deployed; validated later by ImageRef.parse
    container: str | None = None
    digest: object = None
    registry_credentials_arn: str | None = None


@dataclass(frozen=True)
class ImagesTarget:
    """A deploy whose images the event itself names."""

    origin: Origin
    images: tuple[ContainerImage, ...]
    platform: str | None = None
    cluster: str | None = None


@dataclass(frozen=True)
class TaskDefinitionTarget:
    """A deploy whose images come from a task definition (ecs:DescribeTaskDefinition)."""

    origin: Origin
    task_definition: str
    cluster: str | None = None
    digests: Mapping[str, object] = field(default_factory=dict)  # container name -> digest
    only_containers: frozenset[str] | None = None


@dataclass(frozen=True)
class FunctionTarget:
    """A Lambda image function (lambda:GetFunction gives the digest-pinned image)."""

    origin: Origin
    function: str
    image: object
    platform: str | None = None


@dataclass(frozen=True)
class ZipTarget:
    """A zip function's code or a layer version (lambda:GetFunction / GetLayerVersionByArn give
    what the event lacks). `code_sha256` is the event's own, when it carries a valid one."""

    origin: Origin
    kind: str  # lambda-zip | lambda-layer
    arn: str
    code_sha256: str | None = None


Target = ImagesTarget | TaskDefinitionTarget | FunctionTarget | ZipTarget
