"""Container image references: the Docker/OCI grammar, familiar names, ECR host forms.

`ImageRef` is shared by the dispatcher and the runner. Parsing is strict: whatever does not match
the grammar (uppercase paths, `#`, spaces, shell or control characters, bad digests) raises
`ImageRefError`, so it never reaches a build.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dispatcher.errors import ImageRefError

DOCKER_HUB = "docker.io"
DOCKER_HUB_API_HOST = "registry-1.docker.io"
ECR_PUBLIC_HOSTS = frozenset({"public.ecr.aws", "ecr-public.aws.com"})

MAX_REFERENCE_LENGTH = 1024
MAX_NAME_LENGTH = 255  # registry host + "/" + repository path, as most clients cap it

_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_RE = re.compile(
    rf"^(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:]+\])(?::[0-9]{{1,5}})?$"
)
_PATH_COMPONENT_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST_RE = re.compile(r"^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$")
_IMAGE_ID_RE = re.compile(r"^[a-f0-9]{64}$")

# The AWS credential helper's own expression for private ECR hosts, anchored at both ends.
_ECR_HOST_RE = re.compile(
    r"^(?P<account>\d{12})\.dkr[.\-]ecr(?P<fips>-fips)?\.(?P<region>[a-zA-Z0-9][a-zA-Z0-9-_]*)\."
    r"(?P<domain>amazonaws\.(?:com(?:\.cn)?|eu)|on\.(?:aws|amazonwebservices\.com\.cn)"
    r"|sc2s\.sgov\.gov|c2s\.ic\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)$"
)


@dataclass(frozen=True)
class EcrRegistry:
    """What a private ECR host name says: whose registry, where, and which endpoint flavour."""

    account: str
    region: str
    fips: bool
    dual_stack: bool
    domain: str


def validate_digest(value: object) -> str:
    """Return `value` if it is a sha256 (64 hex) or sha512 (128 hex) digest, else raise."""
    if not isinstance(value, str) or not _DIGEST_RE.match(value):
        raise ImageRefError(f"not a valid image digest: {_printable(value)}")
    return value


def is_digest(value: object) -> bool:
    """True when `value` is a digest `validate_digest` accepts."""
    return isinstance(value, str) and bool(_DIGEST_RE.match(value))


def parse_ecr_host(host: str) -> EcrRegistry | None:
    """Recognise every private ECR host form (FIPS, dual-stack, China, sovereign, ISO)."""
    match = _ECR_HOST_RE.match(host)
    if not match:
        return None
    return EcrRegistry(
        account=match["account"],
        region=match["region"],
        fips=bool(match["fips"]),
        dual_stack=".dkr-ecr" in host or match["domain"].startswith("on."),
        domain=match["domain"],
    )


@dataclass(frozen=True)
class ImageRef:
    """A parsed, normalised image reference: `registry/repository[:tag][@digest]`."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None
    original: str = field(default="", compare=False)

    @classmethod
    def parse(cls, text: object) -> ImageRef:
        """Parse a reference as Docker does (`nginx` -> `docker.io/library/nginx:latest`)."""
        if not isinstance(text, str) or not text:
            raise ImageRefError(f"image reference must be a non-empty string: {_printable(text)}")
        if len(text) > MAX_REFERENCE_LENGTH:
            raise ImageRefError(f"image reference longer than {MAX_REFERENCE_LENGTH} characters")
        if not text.isprintable() or not text.isascii():
            raise ImageRefError(f"image reference has control or non-ASCII characters: {text!r}")
        if any(c.isspace() for c in text):
            raise ImageRefError(f"image reference contains whitespace: {text!r}")
        # Only the whole input is an image ID; with a registry, path or tag it is a name (Docker).
        if _IMAGE_ID_RE.match(text):
            raise ImageRefError(f"a bare image ID is not a reference: {text!r}")

        rest, digest = text, None
        if "@" in rest:
            rest, _, digest = rest.partition("@")
            validate_digest(digest)
        tag = None
        last_slash = rest.rfind("/")
        colon = rest.rfind(":")
        if colon > last_slash:
            rest, tag = rest[:colon], rest[colon + 1 :]
            if not _TAG_RE.match(tag):
                raise ImageRefError(f"invalid tag {tag!r} in image reference {text!r}")

        registry, repository = _split_domain(rest, text)
        if len(registry) + 1 + len(repository) > MAX_NAME_LENGTH:
            raise ImageRefError(f"image name longer than {MAX_NAME_LENGTH} characters: {text!r}")
        if tag is None and digest is None:
            tag = "latest"
        return cls(registry=registry, repository=repository, tag=tag, digest=digest, original=text)

    @property
    def name(self) -> str:
        """`registry/repository`, without tag or digest."""
        return f"{self.registry}/{self.repository}"

    @property
    def reference(self) -> str:
        """What to ask the registry for: the digest when known, else the tag."""
        return self.digest or self.tag or "latest"

    @property
    def api_host(self) -> str:
        """The host that serves the registry HTTP API (Docker Hub's differs from its name)."""
        return DOCKER_HUB_API_HOST if self.registry == DOCKER_HUB else self.registry

    @property
    def ecr(self) -> EcrRegistry | None:
        """The private ECR registry this image lives in, if any."""
        return parse_ecr_host(self.registry)

    @property
    def is_ecr_public(self) -> bool:
        """True for ECR Public (`public.ecr.aws/<alias>/<repo>`)."""
        return self.registry in ECR_PUBLIC_HOSTS

    def with_digest(self, digest: str) -> ImageRef:
        """The same image pinned to `digest` (validated); the tag is kept for people."""
        return ImageRef(
            self.registry, self.repository, self.tag, validate_digest(digest), self.original
        )

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def _split_domain(name: str, text: str) -> tuple[str, str]:
    first, sep, remainder = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        if not _DOMAIN_RE.match(first):
            raise ImageRefError(f"invalid registry host {first!r} in image reference {text!r}")
        registry, path = first, remainder
    else:
        registry, path = DOCKER_HUB, name
    if registry == "index.docker.io":
        registry = DOCKER_HUB
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    if not path:
        raise ImageRefError(f"image reference has no repository: {text!r}")
    for component in path.split("/"):
        if not _PATH_COMPONENT_RE.match(component):
            raise ImageRefError(f"invalid repository path {path!r} in image reference {text!r}")
    return registry, path


def _printable(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
