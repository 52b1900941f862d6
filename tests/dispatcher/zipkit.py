"""Zip-code test helpers for the dispatcher: moto's Lambda client with GetLayerVersionByArn
(which moto lacks) answered by a Stubber, and that stubbed answer."""

from __future__ import annotations

from typing import Any

from botocore.stub import Stubber


class LayersStubbed:
    """moto's Lambda client, with GetLayerVersionByArn (which moto lacks) answered by a
    Stubber-backed client that asserts each exact request."""

    def __init__(self, moto_lambda: Any, stubbed: Any) -> None:
        self._moto, self._stubbed = moto_lambda, stubbed

    def list_functions(self, **request: Any) -> Any:
        return self._moto.list_functions(**request)

    def get_function(self, **request: Any) -> Any:
        return self._moto.get_function(**request)

    def get_layer_version_by_arn(self, **request: Any) -> Any:
        return self._stubbed.get_layer_version_by_arn(**request)


def layer_answer(stub: Stubber, arn: str, sha: str) -> None:
    """Expect one GetLayerVersionByArn of `arn` and answer it with CodeSha256 `sha`."""
    content = {"CodeSha256": sha, "CodeSize": 120}
    answer = {"LayerVersionArn": arn, "Version": 1, "Content": content}
    stub.add_response("get_layer_version_by_arn", answer, {"Arn": arn})
