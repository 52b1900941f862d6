"""Compute tiers: which scan project (CodeBuild Lambda compute or EC2 compute) takes an image.

Lambda compute starts in seconds but has no VPC, no cache, no custom timeout and ends every build
at 15 minutes (https://docs.aws.amazon.com/codebuild/latest/userguide/lambda.html). What it cannot
take goes to the EC2 project. `choose_tier` is pure: the planner hands it what it knows.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from dispatcher.buildvars import TIER_EC2, TIER_LAMBDA, BuildRequest
from dispatcher.scancache import Replaced

# Regions where CodeBuild offers Lambda compute, as the page above lists them (cfn/scanner.yaml's
# LambdaComputeRegions mapping holds the same set; a test compares them).
LAMBDA_COMPUTE_REGIONS = frozenset(
    {
        "us-east-1",
        "us-east-2",
        "us-west-2",
        "ap-south-1",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-northeast-1",
        "eu-central-1",
        "eu-west-1",
        "sa-east-1",
    }
)
MIB = 1024 * 1024
DEFAULT_LAMBDA_MAX_IMAGE_MIB = 1024
# Lambda builds never queue and end at 15 minutes, so their lease need not outlast EC2's queue: a
# build killed at the limit frees its image after this, and the next deploy retries on EC2.
LAMBDA_LEASE_SECONDS = 30 * 60
# The scan inside a Lambda build stops well before the 15-minute end, so a slow scan is recorded
# as an error with its tier (and retried on EC2) instead of vanishing with the build.
LAMBDA_SCAN_SECONDS = 10 * 60

# Why a tier was chosen: the `tier_reason` of a decision log line (docs/dispatcher.md).
DEFAULT = "default"
REQUESTED = "requested"
NO_LAMBDA_PROJECT = "no-lambda-project"
REGION_WITHOUT_LAMBDA = "region-without-lambda-compute"
VPC_REGISTRY = "vpc-registry"
IMAGE_SIZE = "image-size"
LAMBDA_RETRY = "lambda-retry"


@dataclass(frozen=True)
class TierChoice:
    """A tier and the rule that chose it."""

    tier: str
    reason: str


@dataclass(frozen=True)
class TierPolicy:
    """What the stack offers: each tier's project, the default tier, and the rules' settings."""

    ec2_project: str
    lambda_project: str = ""  # empty: this stack has no Lambda-compute project
    default: str = TIER_LAMBDA
    region: str | None = None  # where the builds run (the dispatcher's own region), if known
    max_lambda_bytes: int = DEFAULT_LAMBDA_MAX_IMAGE_MIB * MIB
    vpc_registries: tuple[str, ...] = ()  # fnmatch patterns of registry hosts

    def project(self, tier: str) -> str:
        """The scan project of `tier`."""
        return self.lambda_project if tier == TIER_LAMBDA else self.ec2_project

    def lambda_unavailable(self) -> str | None:
        """Why no build can run on Lambda compute here, or None when one can."""
        if not self.lambda_project:
            return NO_LAMBDA_PROJECT
        if self.region and self.region not in LAMBDA_COMPUTE_REGIONS:
            return REGION_WITHOUT_LAMBDA
        return None

    def needs_vpc(self, registry: str) -> bool:
        """True for a registry host only a VPC reaches (Lambda compute has no VPC)."""
        host = registry.lower()
        return any(fnmatch.fnmatchcase(host, p.lower()) for p in self.vpc_registries)

    def size_matters(self, registry: str) -> bool:
        """True when the image's size is all that could still keep it off Lambda compute."""
        return choose_tier(self, registry=registry).tier == TIER_LAMBDA


def choose_tier(
    policy: TierPolicy, *, registry: str, size: int | None = None, requested: str | None = None
) -> TierChoice:
    """The tier of one image: a requested tier where it exists, else EC2 for what Lambda
    compute cannot take (no Lambda project or region, a VPC-only registry, an image larger than
    the threshold), else the default. An unknown size does not count against Lambda."""
    unavailable = policy.lambda_unavailable()
    if requested is not None and not (requested == TIER_LAMBDA and unavailable):
        return TierChoice(requested, REQUESTED)
    to_ec2 = (
        unavailable
        or (DEFAULT if policy.default == TIER_EC2 else None)
        or (VPC_REGISTRY if policy.needs_vpc(registry) else None)
        or (IMAGE_SIZE if size is not None and size > policy.max_lambda_bytes else None)
    )
    return TierChoice(TIER_EC2, to_ec2) if to_ec2 else TierChoice(TIER_LAMBDA, DEFAULT)


def code_build_request(
    tiers: TierPolicy,
    choice: TierChoice,
    *,
    kind: str,
    code_arn: str,
    code_sha256: str,
    account: str | None,
    region: str | None,
    trigger: str,
    resource_arn: str | None,
    pull_role_arn: str | None,
) -> BuildRequest:
    """The build of a zip function's or layer version's code (no image) on the chosen tier's
    project; not yet validated (`request.environment()` does that)."""
    tier = choice.tier
    return BuildRequest(
        project=tiers.project(tier),
        image=None,
        digest=None,
        platform=None,
        source_account=account,
        source_region=region,
        trigger=trigger,
        resource_arn=resource_arn,
        pull_role_arn=pull_role_arn,
        compute_tier=tier,
        kind=kind,
        code_arn=code_arn,
        code_sha256=code_sha256,
    )


def retry_tier(tier: str | None, previous: Replaced | None) -> TierChoice | None:
    """EC2 for a Lambda build of an image whose last build ran on Lambda compute and did not
    finish (recorded an error, or died so its lease ran out, e.g. at the 15-minute limit)."""
    if tier != TIER_LAMBDA or previous is None:
        return None
    if previous.unfinished and previous.tier == TIER_LAMBDA:
        return TierChoice(TIER_EC2, LAMBDA_RETRY)
    return None


def lease_seconds(tier: str | None, default: int) -> int:
    """How long a started build of `tier` holds its image."""
    return min(default, LAMBDA_LEASE_SECONDS) if tier == TIER_LAMBDA else default


def scan_seconds(tier: str | None, seconds: float) -> float:
    """The scan's time limit inside a build of `tier`."""
    return min(seconds, LAMBDA_SCAN_SECONDS) if tier == TIER_LAMBDA else seconds
