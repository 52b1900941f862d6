"""Launching one scan build per image: the `BuildRequest` value and the `Launcher` seam.

`BuildRequest.environment()` is the contract's build variables, validated here so that a hostile
value is refused before `StartBuild` is ever called. `CodeBuildLauncher` is the AWS
implementation; the local build executor of the demo implements `Launcher` too.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Protocol

from dispatcher.errors import LaunchError, aws_error_code
from dispatcher.imageref import ImageRef, validate_digest

ACCOUNT_RE = re.compile(r"^\d{12}$")
REGION_RE = re.compile(r"^[a-z]{2,4}(?:-[a-z0-9]+){1,4}$")
PLATFORM_RE = re.compile(r"^[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?$")
TRIGGER_RE = re.compile(r"^[a-z0-9-]{1,32}(?::[A-Za-z0-9]{1,64})?$")
PROJECT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,254}$")
# partition:service:region:account:resource; no `$`, quotes, spaces or other shell metacharacters.
ARN_RE = re.compile(
    r"^arn:aws(?:-[a-z]+)*:[a-z0-9-]{1,64}:[a-z0-9-]{0,32}:(?:\d{12})?:[A-Za-z0-9_/+=,.@:-]{1,1024}$"
)
ROLE_ARN_RE = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::\d{12}:role/[A-Za-z0-9_/+=,.@-]{1,512}$")
SECRET_ARN_RE = re.compile(
    r"^arn:aws(?:-[a-z]+)*:(?:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9_/+=.@-]{1,512}"
    r"|ssm:[a-z0-9-]+:\d{12}:parameter/[A-Za-z0-9_/.-]{1,1011})$"
)
MAX_VALUE_LENGTH = 2048

# Error codes meaning "try again later": the SQS message is retried, the lease released.
THROTTLING_CODES = frozenset(
    {
        "AccountLimitExceededException",
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "LimitExceededException",
    }
)


class BuildRequestError(LaunchError):
    """A BuildRequest holds a value that must not be sent; the image is skipped, not retried."""

    reason = "invalid-build-request"

    def __init__(self, message: str) -> None:
        super().__init__(message, throttled=False)


@dataclass(frozen=True)
class BuildRequest:
    """Everything one scan build needs to know about one image."""

    project: str
    image: ImageRef  # as deployed
    digest: str | None  # IMAGE_DIGEST when known
    platform: str | None  # e.g. "linux/arm64"
    source_account: str | None
    source_region: str | None
    trigger: str  # e.g. "ecs:TaskStateChange", "lambda:CreateFunction", "manual"
    resource_arn: str | None
    registry_credentials_arn: str | None = None
    pull_role_arn: str | None = None
    lease_id: str | None = None  # the dedup lease this build holds, when there is one

    def environment(self) -> dict[str, str]:
        """The contract's build variables, validated; absent ones are omitted.

        Raises `BuildRequestError` (a `LaunchError`) when any value is not acceptable.
        """
        if not PROJECT_RE.match(self.project):
            raise BuildRequestError(f"invalid CodeBuild project name: {self.project[:80]!r}")
        env = {"IMAGE_REF": _checked("IMAGE_REF", str(self.image), None)}
        if self.digest is not None:
            env["IMAGE_DIGEST"] = _digest(self.digest, self.image)
        optional = (
            ("IMAGE_PLATFORM", self.platform, PLATFORM_RE),
            ("SOURCE_ACCOUNT", self.source_account, ACCOUNT_RE),
            ("SOURCE_REGION", self.source_region, REGION_RE),
            ("TRIGGER", self.trigger, TRIGGER_RE),
            ("RESOURCE_ARN", self.resource_arn, ARN_RE),
            ("REGISTRY_CREDENTIALS_ARN", self.registry_credentials_arn, SECRET_ARN_RE),
            ("PULL_ROLE_ARN", self.pull_role_arn, ROLE_ARN_RE),
        )
        for name, value, pattern in optional:
            if value is not None:
                env[name] = _checked(name, value, pattern)
        return env

    def idempotency_token(self) -> str:
        """Stable per (project, image digest or reference, lease): a retry never starts twice."""
        key = self.digest or self.image.digest or str(self.image)
        material = "\x1f".join((self.project, key, self.lease_id or ""))
        return hashlib.sha256(material.encode()).hexdigest()[:64]


class Launcher(Protocol):
    """Starts one scan build; implemented by CodeBuild and by the demo's local executor."""

    def start(self, request: BuildRequest) -> str:
        """Start the build and return its id; raise `LaunchError` (with `.throttled`)."""
        ...


class CodeBuildLauncher:
    """`Launcher` over an injected boto3 CodeBuild client."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def start(self, request: BuildRequest) -> str:
        """Call `codebuild:StartBuild` with the environment overrides and idempotency token."""
        env = request.environment()
        overrides = [{"name": k, "value": v, "type": "PLAINTEXT"} for k, v in env.items()]
        try:
            response = self._client.start_build(
                projectName=request.project,
                environmentVariablesOverride=overrides,
                idempotencyToken=request.idempotency_token(),
            )
        except Exception as exc:  # botocore ClientError / BotoCoreError, wrapped once here
            code = aws_error_code(exc)
            raise LaunchError(
                f"StartBuild failed for {request.image}: {code}",
                throttled=code in THROTTLING_CODES,
            ) from exc
        build_id = response.get("build", {}).get("id")
        if not isinstance(build_id, str) or not build_id:
            raise LaunchError(f"StartBuild returned no build id for {request.image}")
        return build_id


def _digest(value: str, image: ImageRef) -> str:
    try:
        digest = validate_digest(value)
    except Exception as exc:
        raise BuildRequestError(f"invalid IMAGE_DIGEST for {image}") from exc
    if image.digest and image.digest != digest:
        raise BuildRequestError(f"IMAGE_DIGEST {digest} contradicts the reference {image}")
    return digest


def _checked(name: str, value: object, pattern: re.Pattern[str] | None) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_VALUE_LENGTH:
        raise BuildRequestError(f"{name} is empty, not a string or too long")
    # ASCII and printable rules out every control character; the space is the one left.
    if not value.isascii() or not value.isprintable() or " " in value:
        raise BuildRequestError(f"{name} has control, space or non-ASCII characters")
    if pattern is not None and not pattern.match(value):
        raise BuildRequestError(f"{name} is not acceptable: {value[:80]!r}")
    return value
