"""The environment the templates set is the environment the code reads, name for name."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from dispatcher.settings import Settings as DispatcherSettings
from scanner_runner.settings import Settings as RunnerSettings
from tests.cfn.conftest import ROOT


class Recorder(Mapping[str, str]):
    """An empty environment that remembers every name the code asks for."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self._values = dict(values or {})
        self.asked: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        return self._values[key]

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return self._values.get(key, default)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.asked.add(key)
        return key in self._values

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("settings must ask for names, not list the environment")

    def __len__(self) -> int:
        return len(self._values)


def _lambda_env(scanner: dict[str, Any]) -> set[str]:
    return set(scanner["Resources"]["Dispatcher"]["Properties"]["Environment"]["Variables"])


def _project_env(scanner: dict[str, Any]) -> set[str]:
    env = scanner["Resources"]["ScanProject"]["Properties"]["Environment"]
    return {v["Name"] for v in env["EnvironmentVariables"]}


# Read by the dispatcher's settings but set by the Lambda runtime, which a function may not set.
LAMBDA_RUNTIME_ENV = {"AWS_REGION": "where the builds run: the tier's region rule"}


def test_dispatcher_environment_is_exactly_its_settings(scanner: dict[str, Any]) -> None:
    recorder = Recorder({"SCAN_PROJECT_NAME": "p", "SCAN_CACHE_TABLE": "t"})
    DispatcherSettings.from_env(recorder)
    assert _lambda_env(scanner) == recorder.asked - set(LAMBDA_RUNTIME_ENV)
    assert set(LAMBDA_RUNTIME_ENV) <= recorder.asked


def test_every_build_variable_is_read_by_the_runner_or_the_buildspec(
    scanner: dict[str, Any],
) -> None:
    recorder = Recorder()
    RunnerSettings.from_env(recorder)
    buildspecs = "\n".join(p.read_text() for p in sorted((ROOT / "buildspecs").iterdir()))
    used_by_buildspec = set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", buildspecs))
    unread = _project_env(scanner) - recorder.asked - used_by_buildspec
    assert unread == set()


def test_runner_settings_the_template_must_provide(scanner: dict[str, Any]) -> None:
    recorder = Recorder()
    RunnerSettings.from_env(recorder)
    # Read by the runner but deliberately not set by the stack, each for a reason.
    optional = {
        "RESULTS_S3_KMS_KEY_ID": "reports use the bucket's default encryption",
        "QUALYS_GATEWAY_URL": "QUALYS_POD names the gateway",
        "QUALYS_CLIENT_ID": "the stack uses an access token",
        "QUALYS_CLIENT_SECRET": "the stack uses an access token",
        "QSCANNER_PATH": "fetch-qscanner.sh exports it in the build",
        "SCAN_TYPES": "the runner's default (pkg)",
        "MAX_UNPACKED_BYTES": "the runner's default (10 GiB); a build override can raise it",
    }
    assert recorder.asked - _project_env(scanner) == set(optional)
