"""The compute-tier rules (dispatcher/tiers.py) one by one, and the settings that feed them."""

from __future__ import annotations

from typing import Any

import pytest

from dispatcher import tiers as t
from dispatcher.buildvars import COMPUTE_TIER, TIER_EC2, TIER_LAMBDA, BuildRequest
from dispatcher.errors import BuildRequestError, SettingsError
from dispatcher.imageref import ImageRef
from dispatcher.scancache import Replaced
from dispatcher.settings import Settings

ECR = "210987654321.dkr.ecr.eu-central-1.amazonaws.com"
GIB = 1024 * t.MIB


def policy(**changes: Any) -> t.TierPolicy:
    values: dict[str, Any] = {
        "ec2_project": "deployscan-scan",
        "lambda_project": "deployscan-scan-lambda",
        "region": "eu-central-1",
        "max_lambda_bytes": GIB,
        "vpc_registries": ("registry.corp.example", "*.internal.example"),
    }
    values.update(changes)
    return t.TierPolicy(**values)


@pytest.mark.parametrize(
    ("changes", "registry", "size", "expected"),
    [
        ({}, ECR, 200 * t.MIB, (TIER_LAMBDA, t.DEFAULT)),
        ({}, ECR, GIB, (TIER_LAMBDA, t.DEFAULT)),  # at the threshold: still fits
        ({}, ECR, GIB + 1, (TIER_EC2, t.IMAGE_SIZE)),
        ({}, ECR, None, (TIER_LAMBDA, t.DEFAULT)),  # unknown size: not held against Lambda
        ({}, "registry.corp.example", None, (TIER_EC2, t.VPC_REGISTRY)),
        ({}, "harbor.internal.example:5000", None, (TIER_LAMBDA, t.DEFAULT)),  # port: no match
        ({}, "harbor.internal.example", 1, (TIER_EC2, t.VPC_REGISTRY)),
        ({}, "Registry.Corp.Example", None, (TIER_EC2, t.VPC_REGISTRY)),
        ({"region": "eu-north-1"}, ECR, 1, (TIER_EC2, t.REGION_WITHOUT_LAMBDA)),
        ({"region": None}, ECR, 1, (TIER_LAMBDA, t.DEFAULT)),  # region unknown: project decides
        ({"lambda_project": ""}, ECR, 1, (TIER_EC2, t.NO_LAMBDA_PROJECT)),
        ({"default": TIER_EC2}, ECR, 1, (TIER_EC2, t.DEFAULT)),
    ],
)
def test_choose_tier(
    changes: dict[str, Any], registry: str, size: int | None, expected: tuple[str, str]
) -> None:
    choice = t.choose_tier(policy(**changes), registry=registry, size=size)
    assert (choice.tier, choice.reason) == expected


def test_a_requested_tier_wins_where_it_exists() -> None:
    big = t.choose_tier(policy(), requested=TIER_LAMBDA, registry=ECR, size=5 * GIB)
    assert big == t.TierChoice(TIER_LAMBDA, t.REQUESTED)
    assert t.choose_tier(policy(), requested=TIER_EC2, registry=ECR) == t.TierChoice(
        TIER_EC2, t.REQUESTED
    )
    nowhere = policy(region="ca-central-1")
    assert t.choose_tier(nowhere, requested=TIER_LAMBDA, registry=ECR) == t.TierChoice(
        TIER_EC2, t.REGION_WITHOUT_LAMBDA
    )


def test_size_matters_only_when_it_alone_could_keep_an_image_off_lambda() -> None:
    assert policy().size_matters(ECR)
    assert not policy().size_matters("registry.corp.example")
    assert not policy(default=TIER_EC2).size_matters(ECR)
    assert not policy(lambda_project="").size_matters(ECR)


@pytest.mark.parametrize(
    ("tier", "previous", "moved"),
    [
        (TIER_LAMBDA, Replaced(unfinished=True, tier=TIER_LAMBDA), True),
        (TIER_LAMBDA, Replaced(unfinished=False, tier=TIER_LAMBDA), False),  # passed, expired
        (TIER_LAMBDA, Replaced(unfinished=True, tier=TIER_EC2), False),
        (TIER_LAMBDA, Replaced(unfinished=True, tier=None), False),  # died before StartBuild
        (TIER_LAMBDA, None, False),
        (TIER_EC2, Replaced(unfinished=True, tier=TIER_LAMBDA), False),
    ],
)
def test_retry_tier(tier: str, previous: Replaced | None, moved: bool) -> None:
    expected = t.TierChoice(TIER_EC2, t.LAMBDA_RETRY) if moved else None
    assert t.retry_tier(tier, previous) == expected


def test_lambda_builds_hold_a_short_lease_and_a_capped_scan() -> None:
    assert t.lease_seconds(TIER_LAMBDA, 36_000) == t.LAMBDA_LEASE_SECONDS
    assert t.lease_seconds(TIER_LAMBDA, 600) == 600
    assert t.lease_seconds(TIER_EC2, 36_000) == 36_000
    assert t.lease_seconds(None, 36_000) == 36_000
    # the lease outlasts the longest Lambda build, the scan ends well inside it
    assert t.LAMBDA_SCAN_SECONDS < 15 * 60 < t.LAMBDA_LEASE_SECONDS
    assert t.scan_seconds(TIER_LAMBDA, 7200) == t.LAMBDA_SCAN_SECONDS
    assert t.scan_seconds(TIER_LAMBDA, 120) == 120
    assert t.scan_seconds(TIER_EC2, 7200) == 7200


def test_the_build_variable_takes_exactly_the_two_tiers() -> None:
    assert COMPUTE_TIER.validate("lambda") == "lambda"
    assert COMPUTE_TIER.validate("ec2") == "ec2"
    for bad in ("EC2", "fargate", "lambda ", "ec2;id", ""):
        with pytest.raises(Exception, match="COMPUTE_TIER"):
            COMPUTE_TIER.validate(bad)
    request = BuildRequest(
        project="deployscan-scan",
        image=ImageRef.parse(f"{ECR}/shop/api:1"),
        digest=None,
        platform=None,
        source_account=None,
        source_region=None,
        trigger="manual",
        resource_arn=None,
        compute_tier="gpu",
    )
    with pytest.raises(BuildRequestError, match="COMPUTE_TIER"):
        request.environment()


def test_settings_read_the_tier_variables() -> None:
    env = {
        "SCAN_PROJECT_NAME": "deployscan-scan",
        "SCAN_CACHE_TABLE": "t",
        "LAMBDA_PROJECT_NAME": "deployscan-scan-lambda",
        "DEFAULT_COMPUTE_TIER": "lambda",
        "LAMBDA_MAX_IMAGE_MIB": "512",
        "VPC_REGISTRIES": "registry.corp.example, *.internal.example,",
        "AWS_REGION": "eu-west-1",
    }
    tiers = Settings.from_env(env).tiers
    assert tiers == t.TierPolicy(
        ec2_project="deployscan-scan",
        lambda_project="deployscan-scan-lambda",
        default=TIER_LAMBDA,
        region="eu-west-1",
        max_lambda_bytes=512 * t.MIB,
        vpc_registries=("registry.corp.example", "*.internal.example"),
    )
    bare = Settings.from_env({"SCAN_PROJECT_NAME": "p", "SCAN_CACHE_TABLE": "t"}).tiers
    assert (bare.lambda_project, bare.default, bare.region) == ("", TIER_LAMBDA, None)
    assert bare.max_lambda_bytes == t.DEFAULT_LAMBDA_MAX_IMAGE_MIB * t.MIB
    for bad in ({"DEFAULT_COMPUTE_TIER": "fargate"}, {"LAMBDA_MAX_IMAGE_MIB": "0"}):
        with pytest.raises(SettingsError):
            Settings.from_env({**env, **bad})
