"""The images a deploy carries, as the gate reads them: parsed, pinned to a digest where the
deploy names one or ECR resolves the tag, de-duplicated; a bad one becomes its own verdict."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from dispatcher.errors import EventError, ImageRefError, LookupFailed
from dispatcher.gate.settings import GateSettings
from dispatcher.gate.verdict import GateVerdict, on_error
from dispatcher.imageref import ImageRef, is_digest
from dispatcher.scancache import cache_key

MAX_IMAGES = 50  # ECS allows 10 containers per task definition; more is not a real deploy
MAX_TEXT = 200


class TagResolver(Protocol):
    """The one lookup the gate needs from `dispatcher.resolve_aws.AwsResolver`."""

    def image_digest(self, image: ImageRef) -> str | None:
        """The digest ECR holds for a private ECR tag (None: unknown tag)."""


@dataclass(frozen=True)
class Gathered:
    """The images to ask the core about, and the verdicts for images it cannot be asked about."""

    refs: tuple[ImageRef, ...]
    refused: tuple[GateVerdict, ...]


def gather(
    found: Iterable[tuple[object, object]], resolver: TagResolver, gate: GateSettings
) -> Gathered:
    """(image as deployed, digest the deploy names or None) pairs -> images pinned to digests.

    A private ECR tag is resolved now, in the image's account: the digest the gate checks is
    the digest the tag names at this moment (docs/gate.md says what happens if the tag moves).
    """
    pairs = list(found)
    if len(pairs) > MAX_IMAGES:
        many = len(pairs)
        raise EventError(f"the deploy names {many} images; the gate reads at most {MAX_IMAGES}")
    refs: dict[str, ImageRef] = {}
    refused: list[GateVerdict] = []
    for image, digest in pairs:
        try:
            ref = _pinned(ImageRef.parse(image), digest, resolver)
        except ImageRefError as exc:
            refused.append(on_error(_shown(image), f"not an image reference ({exc})", gate))
            continue
        except LookupFailed as exc:
            refused.append(on_error(_shown(image), f"cannot resolve its tag: {exc}", gate))
            continue
        if ref is None:
            refused.append(on_error(_shown(image), "ECR has no image with this tag", gate))
            continue
        refs.setdefault(cache_key(ref), ref)
    return Gathered(tuple(refs.values()), tuple(refused))


def _pinned(ref: ImageRef, digest: object, resolver: TagResolver) -> ImageRef | None:
    if ref.digest:
        return ref
    if is_digest(digest):
        return ref.with_digest(str(digest))
    if ref.ecr is None:
        return ref  # another registry: scanned by tag (the scan pins the digest it pulls)
    resolved = resolver.image_digest(ref)
    return ref.with_digest(resolved) if resolved else None


def _shown(image: object) -> str:
    text = image if isinstance(image, str) else repr(image)
    return text[:MAX_TEXT].encode("ascii", "backslashreplace").decode()
