"""Planning: records -> decisions (build / skip with a reason), with no side effects.

Lookups go through the injected `Resolver` (cached per invocation); nothing here writes anything,
so `--dry-run` and `--offline` are just "plan and print".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace

from dispatcher import model as m
from dispatcher.buildvars import KIND_LAMBDA_ZIP, BuildRequest
from dispatcher.envelope import Record
from dispatcher.errors import (
    BuildRequestError,
    EventError,
    ImageRefError,
    LookupFailed,
    NeedsLookup,
    ResolveError,
)
from dispatcher.events import (
    ContainerImage,
    EventBridgeEvent,
    FunctionTarget,
    ImagesTarget,
    Target,
    TaskDefinitionTarget,
    ZipTarget,
)
from dispatcher.imageref import ImageRef, is_digest
from dispatcher.resolve import Resolver
from dispatcher.routes import extract
from dispatcher.scancache import cache_key, code_key
from dispatcher.settings import Settings
from dispatcher.tiers import TierChoice, choose_tier, code_build_request

log = logging.getLogger(__name__)

DRY_RUN_PROJECT = "deployscan-scan"  # stands in for SCAN_PROJECT_NAME when only planning


def plan(records: Iterable[Record], settings: Settings, resolver: Resolver) -> list[m.Decision]:
    """Decide, for every record, what to build and what to skip (and why); pure but for lookups."""
    return _Planner(settings, resolver).run(records)


class _Planner:
    def __init__(self, settings: Settings, resolver: Resolver) -> None:
        self.settings = settings
        self.filters = settings.filters
        self.resolver = resolver
        self.tiers = replace(settings.tiers, ec2_project=settings.project_name or DRY_RUN_PROJECT)
        self.seen: set[str] = set()
        self.claimed: list[str] = []  # keys the record being planned added to `seen`
        self.refs: dict[str, ImageRef | ImageRefError] = {}

    def run(self, records: Iterable[Record]) -> list[m.Decision]:
        out: list[m.Decision] = []
        for record in records:
            self.claimed = []
            try:
                out.extend(self.record(record))
            except Exception as exc:  # one poison record must never fail the whole batch
                log.exception("record %s could not be planned", record.record_id)
                self.seen.difference_update(self.claimed)  # its images are not built: free them
                detail = f"could not be planned: {type(exc).__name__}"
                out.append(m.Skip(m.Origin(record.record_id), m.UNREADABLE_RECORD, detail=detail,
                                  retry=True))  # fmt: skip
        return out

    def record(self, record: Record) -> list[m.Decision]:
        origin = m.Origin(record.record_id)
        if record.event is None:
            return [m.Skip(origin, m.UNREADABLE_RECORD, detail=record.error or "", retry=True)]
        try:
            event = EventBridgeEvent(record.event)
        except EventError as exc:
            return [m.Skip(origin, m.INVALID_EVENT, detail=str(exc), retry=True)]
        out: list[m.Decision] = []
        for item in extract(event, record.record_id):
            out.extend([item] if isinstance(item, m.Skip) else self.target(item))
        return out

    def target(self, target: Target) -> list[m.Decision]:
        origin = target.origin
        if isinstance(target, ZipTarget):
            return [self.zip_target(target)]
        try:
            if isinstance(target, ImagesTarget):
                if not self.filters.cluster_allowed(target.cluster):
                    return [m.Skip(origin, m.EXCLUDED_CLUSTER, detail=target.cluster or "")]
                return self.images(origin, target.images, target.platform)
            if isinstance(target, TaskDefinitionTarget):
                return self.task_definition(target)
            return self.function(target)
        except ResolveError as exc:
            image = target.image if isinstance(target, FunctionTarget) else None
            return [_lookup_skip(origin, exc, image if isinstance(image, str) else None)]

    def zip_target(self, target: ZipTarget) -> m.Decision:
        try:
            return self.code(target)
        except ResolveError as exc:
            code = m.Code(target.kind, target.arn, target.code_sha256)
            return replace(_lookup_skip(target.origin, exc, None), code=code)

    def code(self, target: ZipTarget) -> m.Decision:
        """One zip function's code or layer version: a build per code hash (the event's, else
        looked up), so the same code deployed as many functions is built once."""
        origin, arn, sha = target.origin, target.arn, target.code_sha256
        function = target.kind == KIND_LAMBDA_ZIP
        if function and not self.filters.function_allowed(arn):
            code = m.Code(target.kind, arn, sha)
            return m.Skip(origin, m.EXCLUDED_FUNCTION, detail=arn[:200], code=code)
        if sha is None and function:
            found = self.resolver.function_code(origin.account, origin.region, arn)
            if found.code is None:  # the event said Zip; GetFunction knows better
                code = m.Code(target.kind, arn)
                return m.Skip(origin, m.UNSUPPORTED_EVENT, detail=found.package_type, code=code)
            arn, sha = found.code.arn, found.code.code_sha256
        elif sha is None:
            sha = self.resolver.layer_code(origin.account, origin.region, arn).code_sha256
        code = m.Code(target.kind, arn, sha)
        key = code_key(sha)
        if key in self.seen:
            return m.Skip(origin, m.DUPLICATE, code=code)
        tier = choose_tier(self.tiers, registry="")
        request = code_build_request(
            self.tiers,
            tier,
            kind=target.kind,
            code_arn=arn,
            code_sha256=sha,
            account=origin.account,
            region=origin.region,
            trigger=origin.trigger or "unknown",
            resource_arn=origin.resource_arn,
            pull_role_arn=self.resolver.code_role_arn(origin.account, origin.region),
        )
        try:
            request.environment()
        except BuildRequestError as exc:
            return m.Skip(origin, m.INVALID_BUILD_REQUEST, detail=str(exc), code=code)
        self.seen.add(key)
        self.claimed.append(key)
        return m.Build(origin, key, arn, request, tier.reason)

    def task_definition(self, target: TaskDefinitionTarget) -> list[m.Decision]:
        if not self.filters.cluster_allowed(target.cluster):
            return [m.Skip(target.origin, m.EXCLUDED_CLUSTER, detail=target.cluster or "")]
        origin = target.origin
        found = self.resolver.task_definition(origin.account, origin.region, target.task_definition)
        containers = [
            replace(c, digest=target.digests.get(c.container or "", c.digest))
            for c in found.containers
            if target.only_containers is None or c.container in target.only_containers
        ]
        if not origin.resource_arn:
            origin = replace(origin, resource_arn=found.arn)
        if not containers:
            return [m.Skip(origin, m.NO_IMAGES, detail=f"{found.arn[:200]} has no containers")]
        return self.images(origin, containers, found.platform)

    def function(self, target: FunctionTarget) -> list[m.Decision]:
        origin = target.origin
        if not self.filters.function_allowed(target.function):
            return [m.Skip(origin, m.EXCLUDED_FUNCTION, detail=target.function[:200])]
        image, platform = target.image, target.platform
        digest = None
        if not (isinstance(image, str) and "@" in image and platform):
            found = self.resolver.function_image(origin.account, origin.region, target.function)
            resolved = found.resolved_uri or ""
            digest = resolved.rpartition("@")[2] if "@" in resolved else None
            image = image if isinstance(image, str) else found.image_uri
            platform = platform or found.platform
        return self.images(origin, [ContainerImage(image, None, digest)], platform)

    def images(
        self, origin: m.Origin, containers: Iterable[ContainerImage], platform: str | None
    ) -> list[m.Decision]:
        return [self.image(replace(origin, container=c.container), c, platform) for c in containers]

    def image(self, origin: m.Origin, found: ContainerImage, platform: str | None) -> m.Decision:
        text = found.image if isinstance(found.image, str) else None
        try:
            ref = self.parse(found.image)
            digest = self.digest(ref, found.digest)
        except ImageRefError as exc:
            return m.Skip(origin, m.INVALID_IMAGE_REFERENCE, image=text, detail=str(exc))
        except ResolveError as exc:
            return _lookup_skip(origin, exc, text)
        text = str(found.image)
        if not self.filters.repository_allowed(ref.name, ref.repository):
            return m.Skip(origin, m.EXCLUDED_REPOSITORY, image=text, digest=digest)
        key = cache_key(ref.with_digest(digest) if digest else ref)
        if key in self.seen:
            return m.Skip(origin, m.DUPLICATE, image=text, digest=digest)
        tier = self.tier(ref, digest)
        request = BuildRequest(
            project=self.tiers.project(tier.tier),
            image=ref,
            digest=digest,
            platform=platform,
            source_account=origin.account,
            source_region=origin.region,
            trigger=origin.trigger or "unknown",
            resource_arn=origin.resource_arn,
            registry_credentials_arn=found.registry_credentials_arn,
            pull_role_arn=self.resolver.pull_role_arn(ref),
            compute_tier=tier.tier,
        )
        try:
            request.environment()
        except BuildRequestError as exc:
            return m.Skip(origin, m.INVALID_BUILD_REQUEST, image=text, detail=str(exc))
        self.seen.add(key)
        self.claimed.append(key)
        return m.Build(origin, key, text, request, tier.reason)

    def tier(self, ref: ImageRef, digest: str | None) -> TierChoice:
        """The image's compute tier; its ECR size is asked for only when it could matter."""
        size = None
        if ref.ecr is not None and self.tiers.size_matters(ref.registry):
            try:
                size = self.resolver.image_size(ref.with_digest(digest) if digest else ref)
            except ResolveError as exc:  # the size only advises: the build still goes ahead
                log.warning("size of %s unknown (%s): default compute tier", ref, exc)
        return choose_tier(self.tiers, registry=ref.registry, size=size)

    def digest(self, ref: ImageRef, reported: object) -> str | None:
        """The image's digest: referenced, reported by the event, or looked up in ECR."""
        if reported is not None and not is_digest(reported):
            raise ImageRefError("the event's image digest is not a valid digest")
        digest = ref.digest or (reported if isinstance(reported, str) else None)
        if ref.digest and reported is not None and reported != ref.digest:
            raise ImageRefError("the reported digest differs from the referenced one")
        if digest is None and ref.ecr is not None:
            digest = self.resolver.image_digest(ref)
        return digest

    def parse(self, image: object) -> ImageRef:
        """`ImageRef.parse`, memoised per planner (a busy cluster repeats its references)."""
        if not isinstance(image, str):
            raise ImageRefError(f"image is not a string: {type(image).__name__}")
        if image not in self.refs:
            try:
                self.refs[image] = ImageRef.parse(image)
            except ImageRefError as exc:
                self.refs[image] = exc
        known = self.refs[image]
        if isinstance(known, ImageRefError):
            raise ImageRefError(str(known))
        return known


def _lookup_skip(origin: m.Origin, exc: ResolveError, image: str | None) -> m.Skip:
    if isinstance(exc, NeedsLookup):
        return m.Skip(origin, m.NEEDS_LOOKUP, image=image, detail=str(exc))
    retry = exc.retryable if isinstance(exc, LookupFailed) else True
    return m.Skip(origin, m.LOOKUP_FAILED, image=image, detail=str(exc), retry=retry)
