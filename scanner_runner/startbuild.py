"""`deployscan start-build`: one manual scan build with the variables the dispatcher would set.

Plan, then execute: `plan_manual_build` validates the reference, resolves an ECR tag to its digest
when it can (through the dispatcher's resolver seam), and consults the scan cache; `start` hands
the `BuildRequest` to a `Launcher` (CodeBuild in AWS, the local executor in the demo).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from dispatcher.errors import DeployscanError, ResolveError
from dispatcher.imageref import ImageRef
from dispatcher.launch import BuildRequest, Launcher
from dispatcher.scancache import COMPLETED_STATUSES, STATUS_IN_FLIGHT, cache_key

MANUAL_TRIGGER = "manual"


class DigestResolver(Protocol):
    """The part of the dispatcher's `Resolver` a manual build needs."""

    def image_digest(self, image: ImageRef) -> str | None:
        """The digest a private ECR tag points at; None when unknown."""
        ...

    def pull_role_arn(self, image: ImageRef) -> str | None:
        """The role a build assumes to pull another account's ECR image, if any."""
        ...


class CacheLookupError(DeployscanError):
    """The scan-cache table could not be read (missing table, no permission, no connection)."""


@dataclass(frozen=True)
class CachedScan:
    """A scan-cache item that makes a new build unnecessary (or a duplicate)."""

    key: str
    status: str
    when: str  # ISO-8601 UTC of the completion or of the lease
    build_id: str | None
    report_uri: str | None

    def message(self) -> str:
        """The one line `start-build` prints instead of starting a build."""
        if self.status == STATUS_IN_FLIGHT:
            return f"already being scanned (build {self.build_id or 'starting'}), use --force"
        where = f", report {self.report_uri}" if self.report_uri else ""
        return f"already scanned {self.when}: {self.status}{where}, use --force"


@dataclass(frozen=True)
class ManualPlan:
    """What `start-build` will do: start `request`, or not because of `cached`."""

    request: BuildRequest
    cached: CachedScan | None
    notes: tuple[str, ...] = ()


def plan_manual_build(
    image_text: str,
    *,
    project: str,
    platform: str | None,
    resolver: DigestResolver | None,
    cache_client: Any = None,
    cache_table: str | None = None,
    force: bool = False,
    account: str | None = None,
    region: str | None = None,
    now: float | None = None,
) -> ManualPlan:
    """Decide the manual build for `image_text`; raises `ImageRefError` for a bad reference.

    `account`/`region` fill SOURCE_ACCOUNT/SOURCE_REGION when the image is not in private ECR.
    """
    image = ImageRef.parse(image_text)
    notes: list[str] = []
    digest = image.digest
    pull_role = None
    if resolver is not None and image.ecr is not None:
        try:
            digest = digest or resolver.image_digest(image)
            pull_role = resolver.pull_role_arn(image)
        except ResolveError as exc:
            notes.append(f"digest not resolved ({exc}); the build resolves it when it pulls")
        else:
            if digest is None:
                notes.append("ECR does not know this tag; the build resolves it when it pulls")
    ecr = image.ecr
    request = BuildRequest(
        project=project,
        image=image,
        digest=digest,
        platform=platform,
        source_account=ecr.account if ecr else account,
        source_region=ecr.region if ecr else region,
        trigger=MANUAL_TRIGGER,
        resource_arn=None,
        pull_role_arn=pull_role,
    )
    request.environment()  # validate everything now: a bad value never reaches StartBuild
    cached = None
    if not force and cache_client is not None and cache_table:
        keyed = image.with_digest(digest) if digest and not image.digest else image
        cached = find_cached_scan(cache_client, cache_table, cache_key(keyed), now or time.time())
    return ManualPlan(request=request, cached=cached, notes=tuple(notes))


def find_cached_scan(client: Any, table: str, key: str, now: float) -> CachedScan | None:
    """The scan-cache item for `key` if it still suppresses a build (completed or in flight).

    Raises `CacheLookupError` when the table cannot be read: no build is started unchecked.
    """
    try:
        response = client.get_item(TableName=table, Key={"pk": {"S": key}}, ConsistentRead=True)
    except Exception as exc:  # botocore errors, wrapped once at this seam
        code = getattr(exc, "response", {}).get("Error", {}).get("Code") or type(exc).__name__
        raise CacheLookupError(
            f"cannot read the scan cache {table}: {code} (use --force to skip the check)"
        ) from exc
    item = response.get("Item")
    if not item:
        return None
    status = _attr(item, "status") or ""
    if status in COMPLETED_STATUSES:
        expires = float(_attr(item, "expires_at") or 0)
        if expires <= now:
            return None
        stamp = _attr(item, "completed_at") or _attr(item, "updated_at")
    elif status == STATUS_IN_FLIGHT:
        if float(_attr(item, "lease_expires_at") or 0) <= now:
            return None
        stamp = _attr(item, "updated_at")
    else:
        return None
    return CachedScan(
        key=key,
        status=status,
        when=_iso(stamp),
        build_id=_attr(item, "build_id"),
        report_uri=_attr(item, "report_uri"),
    )


def start(plan: ManualPlan, launcher: Launcher) -> str:
    """Start the planned build and return its id (raises `LaunchError`)."""
    return launcher.start(plan.request)


def _attr(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    if not isinstance(value, dict):
        return None
    for kind in ("S", "N"):
        if isinstance(value.get(kind), str):
            return str(value[kind])
    return None


def _iso(stamp: str | None) -> str:
    if stamp is None:
        return "at an unknown time"
    try:
        return datetime.fromtimestamp(float(stamp), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return stamp
