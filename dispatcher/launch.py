"""Launching one scan build per image: the `Launcher` seam and its CodeBuild implementation.

A `BuildRequest` (dispatcher.buildvars) validates its variables before `StartBuild` is ever
called. The local build executor of the demo implements `Launcher` too.
"""

from __future__ import annotations

from typing import Any, Protocol

from dispatcher.buildvars import BuildRequest
from dispatcher.errors import LaunchError, aws_error_code

# StartBuild's only modelled limit error. AWS documents that a project at its concurrent-build
# limit refuses new builds and an account whose build queue is full refuses them too; both are
# capacity: the record waits for a free slot (docs/dispatcher.md, "Deploy waves").
CAPACITY_CODES = frozenset({"AccountLimitExceededException"})
# Error codes meaning "try again later": the SQS message is retried, the lease released.
THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "LimitExceededException",
    }
)


class Launcher(Protocol):
    """Starts one scan build; implemented by CodeBuild and by the demo's local executor."""

    def start(self, request: BuildRequest) -> str:
        """Start the build and return its id; raise `LaunchError` (`.capacity`, `.throttled`)."""
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
                capacity=code in CAPACITY_CODES,
            ) from exc
        build_id = response.get("build", {}).get("id")
        if not isinstance(build_id, str) or not build_id:
            raise LaunchError(f"StartBuild returned no build id for {request.image}")
        return build_id
