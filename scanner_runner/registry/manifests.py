"""Fetch, verify and interpret manifests: indexes, platform choice, image manifests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dispatcher.platforms import Platform, platform_text
from scanner_runner.errors import PullError
from scanner_runner.registry import media
from scanner_runner.registry.http import Transport
from scanner_runner.registry.media import Descriptor


@dataclass(frozen=True)
class Fetched:
    """Manifest bytes as received and verified, with their media type and digest."""

    raw: bytes
    media_type: str
    digest: str
    body: dict[str, Any]


@dataclass(frozen=True)
class ImageManifest:
    """A verified single-platform image manifest."""

    fetched: Fetched
    config: Descriptor
    layers: tuple[Descriptor, ...]


def fetch(transport: Transport, repository: str, reference: str, scope: str) -> Fetched:
    """GET a manifest by tag or digest; bound its size, check JSON, type and digest."""
    response = transport.open(
        f"/v2/{repository}/manifests/{reference}", scope=scope, headers={"Accept": media.ACCEPT}
    )
    with response:
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > media.MAX_MANIFEST_BYTES:
            raise PullError(f"manifest {reference[:80]} is over {media.MAX_MANIFEST_BYTES} bytes")
        raw = response.raw.read(media.MAX_MANIFEST_BYTES + 1, decode_content=True)
        header_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        header_digest = response.headers.get("Docker-Content-Digest")
    if len(raw) > media.MAX_MANIFEST_BYTES:
        raise PullError(f"manifest {reference[:80]} is over {media.MAX_MANIFEST_BYTES} bytes")
    if media.is_digest_text(reference):
        digest = reference
    elif header_digest:
        digest = media.checked_digest(header_digest, "the manifest (Docker-Content-Digest)")
    else:
        digest = media.digest_of(raw)
    media.verify_bytes(raw, digest, f"manifest {reference[:80]}")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PullError(f"manifest {reference[:80]} is not JSON") from exc
    if not isinstance(body, dict) or body.get("schemaVersion") != 2:
        raise PullError(f"manifest {reference[:80]} is not a schema 2 manifest or index")
    body_type = body.get("mediaType")
    if body_type is not None and not isinstance(body_type, str):
        raise PullError("manifest has a non-string mediaType")
    if body_type and header_type and body_type != header_type and header_type in _KNOWN:
        raise PullError(f"manifest says {body_type} but was served as {header_type}")
    media_type = body_type or header_type
    if media_type not in _KNOWN:
        raise PullError(f"unsupported manifest media type: {media_type[:100]!r}")
    return Fetched(raw, media_type, digest, body)


_KNOWN = media.INDEX_TYPES | media.MANIFEST_TYPES


def index_entries(fetched: Fetched) -> list[Descriptor]:
    """The child manifests of an index, each with its platform string; nesting is refused."""
    manifests = fetched.body.get("manifests")
    if not isinstance(manifests, list):
        raise PullError("index has no manifests list")
    if len(manifests) > media.MAX_INDEX_ENTRIES:
        raise PullError(f"index has {len(manifests)} entries, over {media.MAX_INDEX_ENTRIES}")
    entries = []
    for number, raw in enumerate(manifests):
        what = f"index entry {number}"
        desc = Descriptor.parse(raw, what, limit=media.MAX_MANIFEST_BYTES)
        if desc.media_type in media.INDEX_TYPES:
            raise PullError("index nesting deeper than one level is not supported")
        platform = raw.get("platform") if isinstance(raw, dict) else None
        entries.append(
            Descriptor(desc.media_type, desc.digest, desc.size, platform_text(platform) or None)
        )
    return entries


def choose(entries: list[Descriptor], wanted: Platform) -> Descriptor:
    """Pick the entry for `wanted`: exact variant first, then any variant of the same os/arch."""
    candidates = []
    for entry in entries:
        if not entry.platform or entry.media_type not in media.MANIFEST_TYPES:
            continue
        platform = Platform.parse(entry.platform)
        if platform.os == "unknown" or (platform.os, platform.architecture) != (
            wanted.os,
            wanted.architecture,
        ):
            continue
        candidates.append((platform.normalized_variant == wanted.normalized_variant, entry))
    exact = [entry for is_exact, entry in candidates if is_exact]
    if exact:
        return exact[0]
    if candidates and wanted.variant is None:
        return candidates[0][1]
    offered = sorted({e.platform for e in entries if e.platform and "unknown" not in e.platform})
    raise PullError(f"no {wanted} image in the index (offers: {', '.join(offered) or 'none'})")


def image_manifest(fetched: Fetched) -> ImageManifest:
    """Validate a single-platform manifest: image config, known layer types, sane layer count."""
    body = fetched.body
    config = Descriptor.parse(body.get("config"), "config", limit=media.MAX_CONFIG_BYTES)
    if config.media_type not in media.CONFIG_TYPES:
        raise PullError(f"not a container image (config type {config.media_type[:80]!r})")
    layers_raw = body.get("layers")
    if not isinstance(layers_raw, list):
        raise PullError("manifest has no layers list")
    if len(layers_raw) > media.MAX_LAYERS:
        raise PullError(f"manifest has {len(layers_raw)} layers, over {media.MAX_LAYERS}")
    layers = tuple(Descriptor.parse(raw, f"layer {n}") for n, raw in enumerate(layers_raw))
    for layer in layers:
        if layer.media_type not in media.LAYER_TYPES:
            raise PullError(f"unsupported layer media type: {layer.media_type[:100]!r}")
    return ImageManifest(fetched, config, layers)


def config_platform(config: bytes) -> str:
    """`os/arch[/variant]` as the image config states it."""
    try:
        data = json.loads(config)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PullError("image config is not JSON") from exc
    if not isinstance(data, dict):
        raise PullError("image config is not a JSON object")
    return platform_text(data) or "unknown/unknown"
