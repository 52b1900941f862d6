"""Settings from the environment, and the include/exclude filters."""

from __future__ import annotations

import dataclasses

import pytest

from dispatcher.errors import SettingsError
from dispatcher.settings import Filters, Settings

ENV = {"SCAN_PROJECT_NAME": "deployscan-scan", "SCAN_CACHE_TABLE": "scan-cache"}


def test_defaults() -> None:
    settings = Settings.from_env(ENV)
    assert (settings.cache_ttl_hours, settings.lease_minutes, settings.lease_seconds) == (
        24,
        600,
        36000,
    )
    assert settings.cross_account_role_name is None
    assert settings.filters == Filters()
    assert settings.log_level == "INFO"
    assert (settings.max_wait_hours, settings.max_wait_seconds) == (24, 86400)
    assert settings.dead_letter_queue_url is None


def test_everything_set() -> None:
    settings = Settings.from_env(
        {
            **ENV,
            "CACHE_TTL_HOURS": "6",
            "LEASE_MINUTES": "120",
            "CROSS_ACCOUNT_ROLE_NAME": "deployscan-read",
            "INCLUDE_REPOSITORIES": "shop/*, team-*/api ",
            "EXCLUDE_REPOSITORIES": "*/scratch",
            "EXCLUDE_CLUSTERS": "sandbox-*",
            "INCLUDE_CLUSTERS": "",
            "EXCLUDE_FUNCTIONS": "tmp-*,test-*",
            "LOG_LEVEL": "debug",
            "MAX_WAIT_HOURS": "6",
            "DEAD_LETTER_QUEUE_URL": " https://sqs.eu-central-1.amazonaws.com/1/dlq ",
        }
    )
    assert settings.max_wait_seconds == 6 * 3600
    assert settings.dead_letter_queue_url == "https://sqs.eu-central-1.amazonaws.com/1/dlq"
    assert settings.cache_ttl_hours == 6 and settings.lease_seconds == 7200
    assert settings.cross_account_role_name == "deployscan-read"
    assert settings.filters.include_repositories == ("shop/*", "team-*/api")
    assert settings.filters.exclude_functions == ("tmp-*", "test-*")
    assert settings.log_level == "DEBUG"
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.cache_ttl_hours = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"SCAN_PROJECT_NAME": "p"},
        {**ENV, "CACHE_TTL_HOURS": "a day"},
        {**ENV, "LEASE_MINUTES": "0"},
        {**ENV, "MAX_WAIT_HOURS": "-1"},
        {**ENV, "LOG_LEVEL": "LOUD"},
    ],
)
def test_bad_settings_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env(env)


def test_planning_only_needs_no_project() -> None:
    assert Settings.from_env({}, require_execution=False).project_name == ""


def test_filters_match_names_and_arns() -> None:
    filters = Filters(
        exclude_repositories=("library/busybox", "*.example.com/*"),
        exclude_clusters=("sandbox-*",),
        include_functions=("prod-*",),
    )
    assert not filters.repository_allowed("docker.io/library/busybox", "library/busybox")
    assert not filters.repository_allowed("registry.example.com/a", "a")
    assert filters.repository_allowed("docker.io/library/nginx", "library/nginx")
    assert not filters.cluster_allowed("arn:aws:ecs:eu-west-1:123456789012:cluster/sandbox-1")
    assert filters.cluster_allowed("prod")
    assert filters.cluster_allowed(None)
    assert filters.function_allowed("arn:aws:lambda:eu-west-1:123456789012:function:prod-api:3")
    assert not filters.function_allowed("dev-api")
