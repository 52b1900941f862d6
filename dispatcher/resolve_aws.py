"""`Resolver` over AWS: ECS, Lambda and ECR lookups, cross-account through an assumed role.

One instance lives for one invocation: it caches clients per (account, region, service), assumed
role sessions per account, and every lookup's answer, so a batch of duplicates costs one call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3

from dispatcher.aws import assumed_session, aws_call, role_arn
from dispatcher.buildvars import ACCOUNT_RE, REGION_RE
from dispatcher.errors import LookupFailed, aws_error_code
from dispatcher.events import ContainerImage, items, obj, text
from dispatcher.imageref import EcrRegistry, ImageRef, is_digest
from dispatcher.lambdacode import CodeTarget, FunctionCode, function_code, layer_code
from dispatcher.platforms import from_lambda_architectures, from_task_definition
from dispatcher.resolve import FunctionImage, TaskDefinition

_NOT_FOUND = frozenset(
    {
        "ClientException",
        "ResourceNotFoundException",
        "ImageNotFoundException",
        "RepositoryNotFoundException",
        "InvalidParameterException",
    }
)
SESSION_NAME = "deployscan-dispatcher"


class AwsResolver:
    """Looks things up in the owning account; `session` is the dispatcher's own boto3 session."""

    def __init__(
        self,
        session: boto3.session.Session,
        role_name: str | None,
        *,
        home_account: str | None = None,
        session_factory: Callable[..., boto3.session.Session] = boto3.session.Session,
    ) -> None:
        self._session = session
        self._role_name = role_name
        self._home = home_account
        self._session_factory = session_factory
        self._sessions: dict[str, boto3.session.Session] = {}
        self._clients: dict[tuple[str | None, str, str], Any] = {}
        self._answers: dict[tuple[str, ...], Any] = {}

    def home_account(self) -> str | None:
        """The dispatcher's own account (`sts:GetCallerIdentity`, asked once)."""
        if self._home is None:
            try:
                self._home = self._session.client("sts").get_caller_identity()["Account"]
            except Exception as exc:
                raise LookupFailed(f"sts:GetCallerIdentity failed: {aws_error_code(exc)}") from exc
        return self._home

    def task_definition(self, account: str | None, region: str | None, ref: str) -> TaskDefinition:
        """`ecs:DescribeTaskDefinition`: images, registry credentials, runtimePlatform."""
        key = ("td", account or "", region or "", ref)
        if key not in self._answers:
            client = self._client("ecs", account, region)
            response = _call(
                f"ecs:DescribeTaskDefinition {ref[:120]}",
                client.describe_task_definition,
                taskDefinition=ref,
            )
            definition = obj(response, "taskDefinition")
            containers = tuple(
                ContainerImage(
                    d.get("image"),
                    text(d, "name"),
                    None,
                    text(obj(d, "repositoryCredentials"), "credentialsParameter"),
                )
                for d in items(definition, "containerDefinitions")
                if isinstance(d, dict)
            )
            arn = text(definition, "taskDefinitionArn") or ref
            self._answers[key] = TaskDefinition(arn, containers, from_task_definition(definition))
        answer: TaskDefinition = self._answers[key]
        return answer

    def function_image(self, account: str | None, region: str | None, name: str) -> FunctionImage:
        """`lambda:GetFunction`: `Code.ResolvedImageUri` and the architecture."""
        key = ("fn", account or "", region or "", name)
        if key not in self._answers:
            client = self._client("lambda", account, region)
            response = _call(
                f"lambda:GetFunction {name[:120]}", client.get_function, FunctionName=name
            )
            code, config = obj(response, "Code"), obj(response, "Configuration")
            self._answers[key] = FunctionImage(
                arn=text(config, "FunctionArn") or name,
                image_uri=text(code, "ImageUri"),
                resolved_uri=text(code, "ResolvedImageUri"),
                platform=from_lambda_architectures(items(config, "Architectures")),
            )
        answer: FunctionImage = self._answers[key]
        return answer

    def function_code(self, account: str | None, region: str | None, arn: str) -> FunctionCode:
        """`lambda:GetFunction` of a zip function: its code hash and layers (asked once)."""
        key = ("code", account or "", region or "", arn)
        if key not in self._answers:
            self._answers[key] = function_code(self._client("lambda", account, region), arn)
        answer: FunctionCode = self._answers[key]
        return answer

    def layer_code(self, account: str | None, region: str | None, arn: str) -> CodeTarget:
        """`lambda:GetLayerVersionByArn` in `account`, in the layer's region (asked once)."""
        key = ("layer", account or "", arn)
        if key not in self._answers:
            client = self._client("lambda", account, arn.split(":")[3] or region)
            self._answers[key] = layer_code(client, arn)
        answer: CodeTarget = self._answers[key]
        return answer

    def image_digest(self, image: ImageRef) -> str | None:
        """`ecr:DescribeImages` for a private ECR tag; None when ECR does not know the tag."""
        if image.ecr is None or image.tag is None:
            return image.digest
        digest = self._image_detail(image.ecr, image, {"imageTag": image.tag}).get("imageDigest")
        return digest if is_digest(digest) else None

    def image_size(self, image: ImageRef) -> int | None:
        """`imageSizeInBytes` of a private ECR image, by digest (else tag); None when unknown."""
        if image.ecr is None or not (image.digest or image.tag):
            return None
        image_id = {"imageDigest": image.digest} if image.digest else {"imageTag": image.tag}
        size = self._image_detail(image.ecr, image, image_id).get("imageSizeInBytes")
        return size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None

    def _image_detail(
        self, ecr: EcrRegistry, image: ImageRef, image_id: dict[str, Any]
    ) -> dict[str, Any]:
        """ECR's `imageDetails[0]` for one image (empty when ECR does not know it), asked once
        per image per invocation: a tag's answer also serves later questions by its digest."""
        kind, value = next(iter(image_id.items()))
        key = ("ecr", ecr.account, ecr.region, image.repository, kind, str(value))
        if key not in self._answers:
            client = self._client("ecr", ecr.account, ecr.region)
            try:
                response = _call(
                    f"ecr:DescribeImages {image}",
                    client.describe_images,
                    registryId=ecr.account,
                    repositoryName=image.repository,
                    imageIds=[image_id],
                )
            except LookupFailed as exc:
                if exc.retryable:
                    raise
                response = {}
            details = [d for d in items(response, "imageDetails") if isinstance(d, dict)]
            detail = details[0] if details else {}
            self._answers[key] = detail
            if is_digest(detail.get("imageDigest")):
                by_digest = (*key[:4], "imageDigest", detail["imageDigest"])
                self._answers.setdefault(by_digest, detail)
        answer: dict[str, Any] = self._answers[key]
        return answer

    def client(self, service: str, account: str | None, region: str | None) -> Any:
        """A `service` client in `account` and `region`: through the read-only role when the
        account is not this one (`LookupFailed` when it cannot be had)."""
        return self._client(service, account, region)

    def _client(self, service: str, account: str | None, region: str | None) -> Any:
        if region is not None and not REGION_RE.match(region):
            raise LookupFailed(f"not a region: {region[:40]!r}", retryable=False)
        if account is not None and not ACCOUNT_RE.match(account):
            raise LookupFailed(f"not an account id: {account[:40]!r}", retryable=False)
        foreign = account is not None and self._role_name and account != self.home_account()
        owner = account if foreign else None
        cache_key = (owner, region or "", service)
        if cache_key not in self._clients:
            session = self._assumed(owner, region) if owner else self._session
            try:
                self._clients[cache_key] = session.client(service, region_name=region)
            except Exception as exc:  # e.g. NoRegionError: the event named no region
                raise LookupFailed(
                    f"no {service} client for {region}: {aws_error_code(exc)}"
                ) from exc
        return self._clients[cache_key]

    def _assumed(self, account: str, region: str | None) -> boto3.session.Session:
        if account not in self._sessions:
            self._sessions[account] = assumed_session(
                self._session,
                role_arn(account, self._role_name or "", region),
                session_name=SESSION_NAME,
                factory=self._session_factory,
            )
        return self._sessions[account]

    def pull_role_arn(self, image: ImageRef) -> str | None:
        """The role a build assumes to pull a private ECR image of another account, if any."""
        ecr = image.ecr
        if ecr is None or not self._role_name or ecr.account == self.home_account():
            return None
        return role_arn(ecr.account, self._role_name, ecr.region)

    def code_role_arn(self, account: str | None, region: str | None) -> str | None:
        """The role a build assumes to fetch Lambda code of another account, if any."""
        if account is None or not self._role_name or account == self.home_account():
            return None
        return role_arn(account, self._role_name, region)


def _call(what: str, method: Callable[..., Any], **kwargs: Any) -> Any:
    return aws_call(what, method, not_found=_NOT_FOUND, **kwargs)
