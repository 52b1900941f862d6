"""`deployscan start-build`: one manual scan build with the variables the dispatcher would set.

Plan, then execute: `plan_manual_build` validates the reference, resolves an ECR tag to its digest
when it can (through the dispatcher's resolver seam), and consults the scan cache; `start` hands
the `BuildRequest` to a `Launcher` (CodeBuild in AWS, the local executor in the demo).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Protocol

from dispatcher.buildvars import KIND_LAMBDA_ZIP, LAMBDA_ARN, LAYER_ARN, BuildRequest
from dispatcher.errors import BuildRequestError, BuildVariableError, ResolveError
from dispatcher.imageref import ImageRef
from dispatcher.lambdacode import CodeTarget, FunctionCode
from dispatcher.launch import Launcher
from dispatcher.scancache import STATUS_IN_FLIGHT, CachedScan, ScanCacheTable, cache_key, code_key
from dispatcher.tiers import REQUESTED, TierPolicy, choose_tier, code_build_request

MANUAL_TRIGGER = "manual"


class DigestResolver(Protocol):
    """The part of the dispatcher's `Resolver` a manual build needs."""

    def image_digest(self, image: ImageRef) -> str | None:
        """The digest a private ECR tag points at; None when unknown."""
        ...

    def pull_role_arn(self, image: ImageRef) -> str | None:
        """The role a build assumes to pull another account's ECR image, if any."""
        ...

    def image_size(self, image: ImageRef) -> int | None:
        """A private ECR image's size in bytes; None when unknown."""
        ...


def cached_message(cached: CachedScan) -> str:
    """The one line `start-build` prints instead of starting a build."""
    if cached.status == STATUS_IN_FLIGHT:
        return f"already being scanned (build {cached.build_id or 'starting'}), use --force"
    where = f", report {cached.report_uri}" if cached.report_uri else ""
    return f"already scanned {cached.when}: {cached.status}{where}, use --force"


@dataclass(frozen=True)
class ManualPlan:
    """What `start-build` will do: start `request`, or not because of `cached`."""

    request: BuildRequest
    cached: CachedScan | None
    notes: tuple[str, ...] = ()


def plan_manual_build(
    image: ImageRef,
    *,
    project: str,
    platform: str | None,
    resolver: DigestResolver | None,
    cache: ScanCacheTable | None = None,
    force: bool = False,
    account: str | None = None,
    region: str | None = None,
    now: float | None = None,
    tiers: TierPolicy | None = None,
    tier: str | None = None,
) -> ManualPlan:
    """Decide the manual build for `image`; `BuildRequestError` for a value the contract refuses,
    `CacheError` when the scan cache cannot be read (no build is started unchecked).

    `account`/`region` fill SOURCE_ACCOUNT/SOURCE_REGION when the image is not in private ECR;
    `tier` is a requested compute tier, else `tiers` chooses as the dispatcher would.
    """
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
    tiers = tiers or TierPolicy(ec2_project=project)
    size = None
    if tier is None and resolver is not None and image.ecr and tiers.size_matters(image.registry):
        with contextlib.suppress(ResolveError):  # the size only advises
            size = resolver.image_size(image.with_digest(digest) if digest else image)
    choice = choose_tier(tiers, registry=image.registry, size=size, requested=tier)
    if choice.reason != REQUESTED:
        notes.append(f"compute tier {choice.tier} ({choice.reason})")
    ecr = image.ecr
    request = BuildRequest(
        project=tiers.project(choice.tier),
        image=image,
        digest=digest,
        platform=platform,
        source_account=ecr.account if ecr else account,
        source_region=ecr.region if ecr else region,
        trigger=MANUAL_TRIGGER,
        resource_arn=None,
        pull_role_arn=pull_role,
        compute_tier=choice.tier,
    )
    request.environment()  # validate everything now: a bad value never reaches StartBuild
    cached = None
    if not force and cache is not None:
        keyed = image.with_digest(digest) if digest and not image.digest else image
        cached = cache.lookup(cache_key(keyed), now or time.time())
    return ManualPlan(request=request, cached=cached, notes=tuple(notes))


class CodeResolver(Protocol):
    """The part of the dispatcher's `Resolver` a manual zip code build needs."""

    def function_code(self, account: str | None, region: str | None, arn: str) -> FunctionCode:
        """`lambda:GetFunction` of a zip function."""
        ...

    def layer_code(self, account: str | None, region: str | None, arn: str) -> CodeTarget:
        """`lambda:GetLayerVersionByArn`."""
        ...

    def code_role_arn(self, account: str | None, region: str | None) -> str | None:
        """The role a build assumes for another account's Lambda code, if any."""
        ...


def plan_code_build(
    kind: str,
    arn: str,
    *,
    project: str,
    resolver: CodeResolver,
    cache: ScanCacheTable | None = None,
    force: bool = False,
    now: float | None = None,
    tiers: TierPolicy | None = None,
    tier: str | None = None,
) -> ManualPlan:
    """Decide the manual build of a zip function (`ARN[:qualifier]`) or a layer version: its
    code hash is looked up (`ResolveError` otherwise) so the build refuses other code, and the
    scan cache is consulted by that hash. `BuildRequestError` for a value the contract refuses."""
    variable = LAMBDA_ARN if kind == KIND_LAMBDA_ZIP else LAYER_ARN
    try:
        variable.validate(arn)
    except BuildVariableError as exc:
        raise BuildRequestError(str(exc)) from exc
    region, account = arn.split(":")[3], arn.split(":")[4]
    if kind == KIND_LAMBDA_ZIP:
        found = resolver.function_code(account, region, arn)
        if found.code is None:
            raise BuildRequestError(f"{arn} is a {found.package_type} function: scan its image")
        code = found.code
    else:
        code = resolver.layer_code(account, region, arn)
    tiers = tiers or TierPolicy(ec2_project=project)
    request = code_build_request(
        tiers,
        choose_tier(tiers, registry="", requested=tier),
        kind=kind,
        code_arn=code.arn,
        code_sha256=code.code_sha256,
        account=account,
        region=region,
        trigger=MANUAL_TRIGGER,
        resource_arn=code.arn,
        pull_role_arn=resolver.code_role_arn(account, region),
    )
    request.environment()
    cached = None
    if not force and cache is not None:
        cached = cache.lookup(code_key(code.code_sha256), now or time.time())
    return ManualPlan(request=request, cached=cached)


def start(plan: ManualPlan, launcher: Launcher) -> str:
    """Start the planned build and return its id (raises `LaunchError`)."""
    return launcher.start(plan.request)
