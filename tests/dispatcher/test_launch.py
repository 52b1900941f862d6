"""BuildRequest validation and the exact StartBuild request (botocore Stubber)."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from dispatcher.buildvars import BuildRequest
from dispatcher.errors import BuildRequestError, LaunchError
from dispatcher.imageref import ImageRef
from dispatcher.launch import CodeBuildLauncher

D = "sha256:" + "0f" * 32
SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hub-AbCdEf"
ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/api:1.4"


def _request(**changes: object) -> BuildRequest:
    values: dict[str, object] = {
        "project": "deployscan-scan",
        "image": ImageRef.parse(ECR),
        "digest": D,
        "platform": "linux/arm64",
        "source_account": "123456789012",
        "source_region": "eu-west-1",
        "trigger": "ecs:TaskStateChange",
        "resource_arn": "arn:aws:ecs:eu-west-1:123456789012:task/prod/0123abcd",
        "registry_credentials_arn": None,
        "pull_role_arn": None,
    }
    values.update(changes)
    return BuildRequest(**values)  # type: ignore[arg-type]


def test_environment_has_the_contract_names_and_omits_absent_ones() -> None:
    assert _request().environment() == {
        "IMAGE_REF": ECR,
        "IMAGE_DIGEST": D,
        "IMAGE_PLATFORM": "linux/arm64",
        "SOURCE_ACCOUNT": "123456789012",
        "SOURCE_REGION": "eu-west-1",
        "TRIGGER": "ecs:TaskStateChange",
        "RESOURCE_ARN": "arn:aws:ecs:eu-west-1:123456789012:task/prod/0123abcd",
    }
    manual = _request(
        digest=None,
        platform=None,
        source_account=None,
        source_region=None,
        trigger="manual",
        resource_arn=None,
        registry_credentials_arn=SECRET,
        pull_role_arn="arn:aws:iam::210987654321:role/deployscan-read",
    )
    assert manual.environment() == {
        "IMAGE_REF": ECR,
        "TRIGGER": "manual",
        "REGISTRY_CREDENTIALS_ARN": SECRET,
        "PULL_ROLE_ARN": "arn:aws:iam::210987654321:role/deployscan-read",
    }


@pytest.mark.parametrize(
    "changes",
    [
        {"source_account": "12345678901"},
        {"source_account": "1234567890123"},
        {"source_region": "eu-west-1; rm -rf /"},
        {"source_region": "EU-WEST-1"},
        {"platform": "linux"},
        {"platform": "linux/arm64/v8/extra"},
        {"platform": "linux/$(id)"},
        {"trigger": "ecs:Task State"},
        {"trigger": "ecs:Task`id`"},
        {"resource_arn": "arn:aws:ecs:eu-west-1:123456789012:task/$(reboot)"},
        {"resource_arn": "arn:aws:ecs:eu-west-1:123456789012:task/a\nb"},
        {"resource_arn": "not-an-arn"},
        {"pull_role_arn": "arn:aws:iam::123456789012:user/someone"},
        {"registry_credentials_arn": "arn:aws:s3:::bucket/key"},
        {"digest": "sha256:" + "0f" * 30},
        {"digest": "sha256:" + "ab" * 32},  # contradicts the digest of the reference below
        {"project": "bad project"},
    ],
)
def test_hostile_values_are_refused(changes: dict[str, object]) -> None:
    request = _request(**changes)
    if changes.get("digest") == "sha256:" + "ab" * 32:
        request = _request(image=ImageRef.parse(f"{ECR}@{D}"), **changes)
    with pytest.raises(BuildRequestError) as info:
        request.environment()
    assert info.value.throttled is False


def test_idempotency_token_is_stable_per_project_image_and_lease() -> None:
    token = _request().idempotency_token()
    assert token == _request(trigger="ecs:RunTask").idempotency_token()
    assert token != _request(lease_id="lease-2").idempotency_token()
    assert token != _request(project="other-project").idempotency_token()
    assert token != _request(digest="sha256:" + "1e" * 32).idempotency_token()
    assert len(token) <= 64


def _stubbed() -> tuple[CodeBuildLauncher, Stubber]:
    client = boto3.client("codebuild", region_name="eu-west-1")
    return CodeBuildLauncher(client), Stubber(client)


def test_start_build_sends_exactly_the_overrides_and_token() -> None:
    launcher, stub = _stubbed()
    request = _request(lease_id="L1")
    expected = {
        "projectName": "deployscan-scan",
        "environmentVariablesOverride": [
            {"name": k, "value": v, "type": "PLAINTEXT"} for k, v in request.environment().items()
        ],
        "idempotencyToken": request.idempotency_token(),
    }
    stub.add_response("start_build", {"build": {"id": "deployscan-scan:b-1"}}, expected)
    with stub:
        assert launcher.start(request) == "deployscan-scan:b-1"
    stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("code", "throttled", "capacity"),
    [
        # The project at its concurrent-build limit, or the account's build queue full.
        ("AccountLimitExceededException", True, True),
        ("ThrottlingException", True, False),
        ("InvalidInputException", False, False),
        ("ResourceNotFoundException", False, False),
    ],
)
def test_start_build_errors_become_launch_errors(
    code: str, throttled: bool, capacity: bool
) -> None:
    launcher, stub = _stubbed()
    stub.add_client_error("start_build", service_error_code=code, http_status_code=400)
    with stub, pytest.raises(LaunchError) as info:
        launcher.start(_request())
    assert (info.value.throttled, info.value.capacity) == (throttled, capacity)
    assert code in str(info.value)


def test_invalid_request_is_never_sent() -> None:
    launcher, stub = _stubbed()
    with stub, pytest.raises(BuildRequestError):
        launcher.start(_request(source_account="x"))
    stub.assert_no_pending_responses()
