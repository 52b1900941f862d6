"""`docker-archive`: what `docker save` writes and `docker load`/skopeo/syft read.

Layers are stored as pulled (compressed), which `docker load` and go-containerregistry accept;
decompressing would need a second pass and sizes not known up front.
"""

from __future__ import annotations

import json

from scanner_runner.registry.archive import Member, PulledImage
from scanner_runner.registry.media import Descriptor


def members(image: PulledImage) -> list[Member]:
    """`manifest.json`, `<config hex>.json` and one file per distinct layer."""
    config_name = f"{image.config.hex}.json"
    layer_names = [_layer_name(layer) for layer in image.layers]
    repo_tags = [f"{image.name}:{image.tag}"] if image.tag else []
    manifest = [{"Config": config_name, "RepoTags": repo_tags, "Layers": layer_names}]
    result = [
        Member("manifest.json", data=json.dumps(manifest, separators=(",", ":")).encode()),
        Member(config_name, data=image.config_bytes),
    ]
    seen: set[str] = set()
    for layer, name in zip(image.layers, layer_names, strict=True):
        if layer.digest not in seen:
            seen.add(layer.digest)
            result.append(Member(name, blob=layer))
    return result


def _layer_name(layer: Descriptor) -> str:
    if layer.media_type.endswith("zstd"):
        return f"{layer.hex}.tar.zst"
    if layer.media_type.endswith("gzip"):
        return f"{layer.hex}.tar.gz"
    return f"{layer.hex}.tar"
