"""Where registry credentials come from: --creds, a Secrets Manager secret, ECR, docker config.

Each source returns `Credentials` or None; `resolve_credentials` applies the precedence
(--creds, then REGISTRY_CREDENTIALS_ARN, then ECR for ECR hosts, then ~/.docker/config.json).
AWS is reached only through the boto3 session passed in, and only when a source needs it.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dispatcher.aws import assumed_session
from dispatcher.errors import LookupFailed, aws_error_text
from dispatcher.imageref import DOCKER_HUB, EcrRegistry, ImageRef
from scanner_runner.errors import PullError

_DOCKER_HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "docker.io")
_ROLE_SESSION_NAME = "deployscan-pull"


@dataclass(frozen=True)
class Credentials:
    """A username/password pair for a registry; `preemptive` sends Basic without a challenge."""

    username: str
    password: str = field(repr=False)
    source: str = "creds"
    preemptive: bool = False


def parse_creds(text: str) -> Credentials:
    """Parse `USER:PASS` (the password may contain colons)."""
    username, sep, password = text.partition(":")
    if not sep or not username:
        raise PullError("--creds must be USER:PASS")
    return Credentials(username, password, source="--creds")


def docker_config_credentials(path: Path, registry: str) -> Credentials | None:
    """Credentials for `registry` from a docker `config.json` `auths` map, if present."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise PullError(f"cannot read docker config {path}: {exc}") from exc
    auths = raw.get("auths") if isinstance(raw, dict) else None
    if not isinstance(auths, dict):
        return None
    wanted = _DOCKER_HUB_KEYS if registry == DOCKER_HUB else (registry,)
    for key, entry in auths.items():
        if _config_host(key) in {_config_host(w) for w in wanted} and isinstance(entry, dict):
            return _entry_credentials(entry, path)
    return None


def secret_credentials(arn: str, session: Any) -> Credentials:
    """Read an ECS `repositoryCredentials` secret: JSON `{"username": ..., "password": ...}`."""
    region = arn.split(":")[3] if arn.count(":") >= 6 else None
    try:
        client = session.client("secretsmanager", region_name=region or None)
        value = client.get_secret_value(SecretId=arn)["SecretString"]
        data = json.loads(value)
    except (ValueError, KeyError, TypeError) as exc:
        raise PullError(f"registry credentials secret {arn} is not JSON username/password") from exc
    except Exception as exc:
        raise PullError(
            f"cannot read registry credentials secret {arn}: {aws_error_text(exc)}"
        ) from exc
    username, password = data.get("username"), data.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username:
        raise PullError(f"registry credentials secret {arn} lacks username/password")
    return Credentials(username, password, source="secret")


def ecr_credentials(ecr: EcrRegistry, session: Any, role_arn: str | None = None) -> Credentials:
    """`ecr:GetAuthorizationToken` in the image's region (through `role_arn` when given)."""
    from botocore.config import Config  # noqa: PLC0415 - AWS libraries load only when needed

    try:
        if role_arn:
            session = _assumed_session(session, role_arn, ecr.region)
        config = Config(
            use_fips_endpoint=ecr.fips,
            use_dualstack_endpoint=ecr.dual_stack,
            retries={"mode": "standard"},
        )
        client = session.client("ecr", region_name=ecr.region, config=config)
        data = client.get_authorization_token(registryIds=[ecr.account])["authorizationData"]
        token = data[0]["authorizationToken"]
    except (KeyError, IndexError) as exc:
        raise PullError("ECR returned no authorization token") from exc
    except PullError:
        raise
    except Exception as exc:
        raise PullError(f"ECR authorization failed: {aws_error_text(exc)}") from exc
    try:
        username, sep, password = base64.b64decode(token).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise PullError("ECR authorization token is not base64 USER:PASSWORD") from exc
    if not sep:
        raise PullError("ECR authorization token is not base64 USER:PASSWORD")
    return Credentials(username, password, source="ecr", preemptive=True)


def resolve_credentials(
    ref: ImageRef,
    *,
    creds: str | None,
    registry_credentials_arn: str | None,
    pull_role_arn: str | None,
    docker_config: Path | None,
    boto3_session: Any,
) -> Credentials | None:
    """Pick the credentials for `ref` by precedence; AWS is called only when a source needs it."""
    if creds:
        return parse_creds(creds)
    if registry_credentials_arn:
        return secret_credentials(registry_credentials_arn, _session(boto3_session))
    saved = docker_config_credentials(docker_config, ref.registry) if docker_config else None
    if ref.ecr is not None:
        try:
            return ecr_credentials(ref.ecr, _session(boto3_session), pull_role_arn)
        except PullError:
            if saved is None:  # a `docker login` to ECR still works without AWS credentials
                raise
    return saved


def _assumed_session(session: Any, role_arn: str, region: str) -> Any:
    try:
        return assumed_session(session, role_arn, session_name=_ROLE_SESSION_NAME, region=region)
    except LookupFailed as exc:
        raise PullError(f"cannot assume pull role: {exc}") from exc


def _session(session: Any) -> Any:
    if session is not None:
        return session
    import boto3  # noqa: PLC0415 - AWS libraries load only when needed

    return boto3.Session()


def _entry_credentials(entry: dict[str, Any], path: Path) -> Credentials | None:
    if isinstance(entry.get("auth"), str) and entry["auth"]:
        try:
            decoded = base64.b64decode(entry["auth"]).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise PullError(f"docker config {path} has an undecodable auth entry") from exc
        username, sep, password = decoded.partition(":")
        if sep and username:
            return Credentials(username, password, source="docker-config")
    user, secret = entry.get("username"), entry.get("password")
    if isinstance(user, str) and isinstance(secret, str) and user:
        return Credentials(user, secret, source="docker-config")
    return None


def _config_host(key: str) -> str:
    return key.removeprefix("https://").removeprefix("http://").split("/", 1)[0].lower()
