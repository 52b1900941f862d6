"""An ECS service revision's container images (`ecs:DescribeServiceRevisions`), read in the
service's own account: through the dispatcher's read-only role when that is another account."""

from __future__ import annotations

from typing import Any, Protocol

from dispatcher.errors import LookupFailed, aws_error_code
from dispatcher.events import ContainerImage, items, text


class Clients(Protocol):
    """What `dispatcher.resolve_aws.AwsResolver` offers: a client in the owning account."""

    def client(self, service: str, account: str | None, region: str | None) -> Any:
        """A `service` client in `account` and `region`."""


def revision_images(
    clients: Clients, account: str, region: str, arn: str
) -> tuple[ContainerImage, ...]:
    """The revision's containers, each with the digest ECS resolved (often none yet before the
    revision's first task starts); `LookupFailed` when ECS cannot describe it."""
    try:
        response = clients.client("ecs", account, region).describe_service_revisions(
            serviceRevisionArns=[arn]
        )
    except LookupFailed:
        raise
    except Exception as exc:  # botocore errors, wrapped once at this seam
        raise LookupFailed(f"ecs:DescribeServiceRevisions failed: {aws_error_code(exc)}") from exc
    revisions = [r for r in items(response, "serviceRevisions") if isinstance(r, dict)]
    if not revisions:
        failures = [f for f in items(response, "failures") if isinstance(f, dict)]
        why = (text(failures[0], "reason") if failures else None) or "no such revision"
        raise LookupFailed(f"ecs:DescribeServiceRevisions: {why[:100]}", retryable=False)
    return tuple(
        ContainerImage(c.get("image"), text(c, "containerName"), c.get("imageDigest"))
        for c in items(revisions[0], "containerImages")
        if isinstance(c, dict)
    )
