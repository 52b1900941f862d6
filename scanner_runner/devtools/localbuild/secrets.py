"""Secrets Manager and Parameter Store values for a build, read as CodeBuild reads them.

A `secrets-manager` reference is `secret-id[:json-key[:version-stage[:version-id]]]`, where the
secret id may be a name or a full ARN (which has colons of its own). Clients are injected.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dispatcher.errors import aws_error_code
from scanner_runner.devtools.localbuild.errors import SecretResolutionError

_ARN_PARTS = 7  # arn:partition:secretsmanager:region:account:secret:name


@dataclass(frozen=True)
class SecretReference:
    """A parsed `secrets-manager` reference."""

    secret_id: str
    json_key: str = ""
    version_stage: str = ""
    version_id: str = ""

    @classmethod
    def parse(cls, text: str) -> SecretReference:
        """Split `secret-id:json-key:version-stage:version-id`, keeping an ARN id whole."""
        parts = text.split(":")
        if text.startswith("arn:"):
            if len(parts) < _ARN_PARTS:
                raise SecretResolutionError(f"not a Secrets Manager ARN: {text!r}")
            secret_id, rest = ":".join(parts[:_ARN_PARTS]), parts[_ARN_PARTS:]
        else:
            secret_id, rest = parts[0], parts[1:]
        if not secret_id or len(rest) > 3:
            raise SecretResolutionError(f"not a secrets-manager reference: {text!r}")
        rest += [""] * (3 - len(rest))
        return cls(secret_id, rest[0], rest[1], rest[2])


def resolve_secret(client: Any, reference: str) -> str:
    """Read one `secrets-manager` value (a whole secret string or one JSON key of it)."""
    ref = SecretReference.parse(reference)
    kwargs: dict[str, str] = {"SecretId": ref.secret_id}
    if ref.version_stage:
        kwargs["VersionStage"] = ref.version_stage
    if ref.version_id:
        kwargs["VersionId"] = ref.version_id
    try:
        secret = client.get_secret_value(**kwargs)
    except Exception as exc:  # botocore errors, wrapped once at this seam
        raise SecretResolutionError(
            f"Secrets Manager: cannot read {ref.secret_id}: {aws_error_code(exc)}"
        ) from exc
    text = secret.get("SecretString")
    if not isinstance(text, str):
        raise SecretResolutionError(f"Secrets Manager: {ref.secret_id} has no string value")
    if not ref.json_key:
        return text
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise SecretResolutionError(f"Secrets Manager: {ref.secret_id} is not JSON") from exc
    value = document.get(ref.json_key) if isinstance(document, dict) else None
    if value is None:
        raise SecretResolutionError(f"Secrets Manager: {ref.secret_id} has no key {ref.json_key}")
    return value if isinstance(value, str) else json.dumps(value)


def resolve_parameter(client: Any, name: str) -> str:
    """Read one Parameter Store value, decrypted (what `env.parameter-store` does)."""
    try:
        response = client.get_parameters(Names=[name], WithDecryption=True)
    except Exception as exc:
        raise SecretResolutionError(f"Parameter Store: cannot read {name}") from exc
    found = response.get("Parameters") or []
    if not found:
        raise SecretResolutionError(f"Parameter Store: no parameter {name}")
    return str(found[0]["Value"])
