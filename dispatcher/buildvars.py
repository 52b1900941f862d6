"""The build-variable contract: one table of name -> grammar -> meaning, and `BuildRequest`.

Everything that sets or reads a scan build's variables goes through this table: the dispatcher's
`BuildRequest`, `deployscan scan` (which reads them as option defaults), `deployscan start-build`
and the deploy scripts (which share its account and region grammars). A value that breaks its
grammar is refused before a build starts and again when the runner reads it; nothing from an
event reaches a shell.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from dispatcher.errors import BuildRequestError, BuildVariableError, DeployscanError
from dispatcher.imageref import ImageRef, validate_digest
from dispatcher.platforms import PLATFORM_RE

ACCOUNT_RE = re.compile(r"^[0-9]{12}$")
# us-east-1, us-gov-west-1, cn-north-1, us-isob-east-1, eusc-de-east-1, ...
REGION_RE = re.compile(r"^[a-z]{2,4}(?:-[a-z]+){1,3}-[0-9]{1,2}$")
ROLE_NAME_RE = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}$")
PROJECT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,254}$")
TRIGGER_RE = re.compile(r"^[a-z0-9-]{1,32}(?::[A-Za-z0-9-]{1,64})?$")
_PARTITION = r"arn:aws(?:-[a-z]+)*"
# partition:service:region:account:resource; no `$`, quotes, spaces or other shell metacharacters.
ARN_RE = re.compile(
    rf"^{_PARTITION}:[a-z0-9-]{{1,64}}:[a-z0-9-]{{0,32}}:(?:[0-9]{{12}})?:[A-Za-z0-9_/+=,.@:-]{{1,1024}}$"
)
ROLE_ARN_RE = re.compile(rf"^{_PARTITION}:iam::[0-9]{{12}}:role/[A-Za-z0-9_/+=,.@-]{{1,512}}$")
# ECS `repositoryCredentials.credentialsParameter`: a Secrets Manager secret (ARN).
SECRET_ARN_RE = re.compile(
    rf"^{_PARTITION}:secretsmanager:[a-z0-9-]+:[0-9]{{12}}:secret:[A-Za-z0-9_/+=.@-]{{1,512}}$"
)
EVENT_ID_RE = re.compile(r"^[A-Za-z0-9._:#-]{1,128}$")
# A Lambda function, optionally qualified by a version or alias (`…:function:name[:qualifier]`),
# and a layer version (`…:layer:name:N`). `$LATEST` is refused (an unqualified ARN means it),
# so no value here carries a `$`.
LAMBDA_ARN_RE = re.compile(
    rf"^{_PARTITION}:lambda:[a-z0-9-]{{1,32}}:[0-9]{{12}}:function:[A-Za-z0-9_-]{{1,64}}"
    r"(?::[A-Za-z0-9_-]{1,128})?$"
)
LAYER_ARN_RE = re.compile(
    rf"^{_PARTITION}:lambda:[a-z0-9-]{{1,32}}:[0-9]{{12}}:layer:[A-Za-z0-9_-]{{1,140}}:[0-9]{{1,12}}$"
)
# Lambda's CodeSha256: the base64 (standard alphabet, padded) of a 32-byte SHA-256.
CODE_SHA256_RE = re.compile(r"^[A-Za-z0-9+/]{43}=$")
# What a scan build scans (TARGET_KIND): an image, a zip function's code, or a layer version.
KIND_IMAGE = "image"
KIND_LAMBDA_ZIP = "lambda-zip"
KIND_LAMBDA_LAYER = "lambda-layer"
TARGET_KINDS = (KIND_IMAGE, KIND_LAMBDA_ZIP, KIND_LAMBDA_LAYER)
CODE_KINDS = frozenset({KIND_LAMBDA_ZIP, KIND_LAMBDA_LAYER})  # zip code, not an image
MAX_LAYERS = 5  # Lambda's limit of layers per function: a longer list is hostile
MAX_VALUE_LENGTH = 2048
# The compute tiers a scan build runs on (COMPUTE_TIER); dispatcher/tiers.py chooses one.
TIER_LAMBDA = "lambda"
TIER_EC2 = "ec2"
COMPUTE_TIERS = (TIER_LAMBDA, TIER_EC2)


def _image(value: str) -> None:
    if value.startswith("-"):
        raise BuildVariableError("is an option, not an image reference (it starts with '-')")
    ImageRef.parse(value)


def _matches(pattern: re.Pattern[str], what: str) -> Callable[[str], object]:
    def check(value: str) -> None:
        if not pattern.match(value):
            raise BuildVariableError(f"is not {what}: {value[:80]!r}")

    return check


def _one_of(choices: tuple[str, ...]) -> Callable[[str], object]:
    return _matches(re.compile(rf"^(?:{'|'.join(map(re.escape, choices))})$"), " or ".join(choices))


@dataclass(frozen=True)
class BuildVar:
    """One build variable: its name, what it means, and the check its value must pass."""

    name: str
    meaning: str
    check: Callable[[str], object]

    def validate(self, value: object) -> str:
        """`value` when it is acceptable; `BuildVariableError` naming the variable otherwise."""
        if not isinstance(value, str) or not value or len(value) > MAX_VALUE_LENGTH:
            raise BuildVariableError(f"{self.name} is empty, not a string or too long")
        try:
            self.check(value)
        except BuildVariableError as exc:
            raise BuildVariableError(f"{self.name} {exc}") from exc
        except DeployscanError as exc:
            raise BuildVariableError(f"{self.name}: {exc}") from exc
        # ASCII and printable rules out every control character; the space is the one left.
        if not value.isascii() or not value.isprintable() or " " in value:
            raise BuildVariableError(f"{self.name} has control, space or non-ASCII characters")
        return value


IMAGE_REF = BuildVar("IMAGE_REF", "the image as deployed (reference)", _image)
IMAGE_DIGEST = BuildVar(
    "IMAGE_DIGEST", "the manifest digest to scan, resolved by the dispatcher", validate_digest
)
IMAGE_PLATFORM = BuildVar(
    "IMAGE_PLATFORM", "os/arch[/variant] to scan", _matches(PLATFORM_RE, "os/arch[/variant]")
)
SOURCE_ACCOUNT = BuildVar(
    "SOURCE_ACCOUNT", "the account of the deploy", _matches(ACCOUNT_RE, "12 digits")
)
SOURCE_REGION = BuildVar(
    "SOURCE_REGION", "the region of the deploy", _matches(REGION_RE, "an AWS region")
)
TRIGGER = BuildVar(
    "TRIGGER",
    "why: ecs:TaskStateChange, lambda:CreateFunction, manual, sweep, …",
    _matches(TRIGGER_RE, "source[:event] in lower-case words"),
)
RESOURCE_ARN = BuildVar(
    "RESOURCE_ARN", "the task, service or function deployed", _matches(ARN_RE, "an ARN")
)
REGISTRY_CREDENTIALS_ARN = BuildVar(
    "REGISTRY_CREDENTIALS_ARN",
    "the Secrets Manager secret with a private registry's login",
    _matches(SECRET_ARN_RE, "a Secrets Manager secret ARN"),
)
PULL_ROLE_ARN = BuildVar(
    "PULL_ROLE_ARN",
    "the role to assume to pull another account's ECR",
    _matches(ROLE_ARN_RE, "an IAM role ARN"),
)
EVENT_ID = BuildVar("EVENT_ID", "the deploy event's id", _matches(EVENT_ID_RE, "an event id"))
COMPUTE_TIER = BuildVar(
    "COMPUTE_TIER",
    "the compute the build runs on: lambda (CodeBuild Lambda compute) or ec2",
    _one_of(COMPUTE_TIERS),
)

TARGET_KIND = BuildVar(
    "TARGET_KIND",
    "what to scan: image (IMAGE_REF), lambda-zip (LAMBDA_ARN) or lambda-layer (LAYER_ARN)",
    _one_of(TARGET_KINDS),
)
LAMBDA_ARN = BuildVar(
    "LAMBDA_ARN",
    "the zip function to scan: its ARN, optionally :version or :alias",
    _matches(LAMBDA_ARN_RE, "a Lambda function ARN"),
)
LAYER_ARN = BuildVar(
    "LAYER_ARN", "the layer version to scan (…:layer:name:N)", _matches(LAYER_ARN_RE, "a layer ARN")
)
CODE_SHA256 = BuildVar(
    "CODE_SHA256",
    "Lambda's CodeSha256 (base64) of the code the dispatcher saw; the build refuses other code",
    _matches(CODE_SHA256_RE, "a base64 SHA-256"),
)

# Name -> variable: every variable a scan build reads, in the order a request sets them.
BUILD_VARIABLES: dict[str, BuildVar] = {
    v.name: v
    for v in (
        IMAGE_REF,
        IMAGE_DIGEST,
        IMAGE_PLATFORM,
        SOURCE_ACCOUNT,
        SOURCE_REGION,
        TRIGGER,
        RESOURCE_ARN,
        REGISTRY_CREDENTIALS_ARN,
        PULL_ROLE_ARN,
        EVENT_ID,
        COMPUTE_TIER,
        TARGET_KIND,
        LAMBDA_ARN,
        LAYER_ARN,
        CODE_SHA256,
    )
}

# What a scan build exports (buildspec `exported-variables`) and `start-build --wait` reads.
SCAN_STATUS = "SCAN_STATUS"
SCAN_EXIT_CODE = "SCAN_EXIT_CODE"
SCAN_REPORT_URI = "SCAN_REPORT_URI"
SCAN_COUNTS = ("SCAN_CRITICAL", "SCAN_HIGH", "SCAN_MEDIUM", "SCAN_LOW", "SCAN_INFO")
EXPORTED_VARIABLES = (SCAN_STATUS, SCAN_EXIT_CODE, *SCAN_COUNTS, SCAN_REPORT_URI)


def count_variable(severity: str) -> str:
    """The exported variable of one severity's count (`high` -> `SCAN_HIGH`)."""
    return f"SCAN_{severity.upper()}"


def validate_all(values: Mapping[str, str]) -> dict[str, str]:
    """The non-empty values of known build variables, each validated (`BuildVariableError`)."""
    return {
        name: BUILD_VARIABLES[name].validate(value)
        for name, value in values.items()
        if name in BUILD_VARIABLES and value
    }


@dataclass(frozen=True)
class BuildRequest:
    """Everything one scan build needs to know about one image, zip function or layer."""

    project: str
    image: ImageRef | None  # as deployed; None for a zip function or a layer
    digest: str | None  # IMAGE_DIGEST when known
    platform: str | None  # e.g. "linux/arm64"
    source_account: str | None
    source_region: str | None
    trigger: str  # e.g. "ecs:TaskStateChange", "lambda:CreateFunction", "manual"
    resource_arn: str | None
    registry_credentials_arn: str | None = None
    pull_role_arn: str | None = None
    lease_id: str | None = None  # the dedup lease this build holds, when there is one
    compute_tier: str | None = None  # COMPUTE_TIER: the tier `project` runs on
    kind: str = KIND_IMAGE  # TARGET_KIND
    code_arn: str | None = None  # LAMBDA_ARN or LAYER_ARN, by kind
    code_sha256: str | None = None  # CODE_SHA256 (base64, as Lambda reports it)

    @property
    def subject(self) -> str:
        """What the build scans, for messages: the image reference or the code's ARN."""
        return str(self.image) if self.image is not None else str(self.code_arn)

    def environment(self) -> dict[str, str]:
        """The contract's build variables, validated; absent ones are omitted.

        Raises `BuildRequestError` when any value is not acceptable.
        """
        if not PROJECT_RE.match(self.project):
            raise BuildRequestError(f"invalid CodeBuild project name: {self.project[:80]!r}")
        if (self.image is None) != (self.kind != KIND_IMAGE) or (
            self.kind != KIND_IMAGE and not self.code_arn
        ):
            raise BuildRequestError(
                f"a {self.kind} build needs {'its ARN' if self.image is None else 'no image'}"
            )
        if self.digest and self.image and self.image.digest and self.image.digest != self.digest:
            raise BuildRequestError(
                f"{IMAGE_DIGEST.name} {self.digest} contradicts the reference {self.image}"
            )
        values = {
            TARGET_KIND.name: None if self.kind == KIND_IMAGE else self.kind,
            IMAGE_REF.name: str(self.image) if self.image is not None else None,
            LAMBDA_ARN.name: self.code_arn if self.kind == KIND_LAMBDA_ZIP else None,
            LAYER_ARN.name: self.code_arn if self.kind == KIND_LAMBDA_LAYER else None,
            CODE_SHA256.name: self.code_sha256,
            IMAGE_DIGEST.name: self.digest,
            IMAGE_PLATFORM.name: self.platform,
            SOURCE_ACCOUNT.name: self.source_account,
            SOURCE_REGION.name: self.source_region,
            TRIGGER.name: self.trigger,
            RESOURCE_ARN.name: self.resource_arn,
            REGISTRY_CREDENTIALS_ARN.name: self.registry_credentials_arn,
            PULL_ROLE_ARN.name: self.pull_role_arn,
            COMPUTE_TIER.name: self.compute_tier,
        }
        try:
            return {
                name: BUILD_VARIABLES[name].validate(value)
                for name, value in values.items()
                if value is not None
            }
        except BuildVariableError as exc:
            raise BuildRequestError(str(exc)) from exc

    def idempotency_token(self) -> str:
        """Stable per (project, image digest, code hash or reference, lease): a retry never
        starts twice."""
        key = self.code_sha256 or self.digest or (self.image and self.image.digest) or self.subject
        material = "\x1f".join((self.project, key, self.lease_id or ""))
        return hashlib.sha256(material.encode()).hexdigest()[:64]
