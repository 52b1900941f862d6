"""Settings from the environment, the Qualys secret, and the explicit scanner mapping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner_runner.errors import SettingsError
from scanner_runner.scanners import SCANNERS, default_scanner_name, make_scanner, qscanner, syft
from scanner_runner.scanners.interface import QualysCredentials, ScannerOptions
from scanner_runner.settings import Settings
from tests.runner.conftest import SENTINEL_TOKEN


def test_scanner_mapping_is_exhaustive_and_named() -> None:
    assert {"qscanner": qscanner.QScanner, "syft": syft.Syft} == SCANNERS
    for name in SCANNERS:
        assert make_scanner(name, ScannerOptions()).name == name
    with pytest.raises(Exception, match="unknown scanner"):
        make_scanner("trivy", ScannerOptions())


def test_default_scanner_is_qscanner_only_when_a_binary_is_found(tmp_path: Path) -> None:
    assert default_scanner_name(ScannerOptions(base_env={"PATH": str(tmp_path)})) == "syft"
    binary = tmp_path / "qscanner"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    assert default_scanner_name(ScannerOptions(base_env={"PATH": str(tmp_path)})) == "qscanner"
    assert default_scanner_name(ScannerOptions(qscanner_path="/opt/qscanner")) == "qscanner"


def test_defaults_and_values_from_env() -> None:
    assert Settings.from_env({}) == Settings()
    assert Settings().max_unpacked_bytes == 10 * 1024**3
    settings = Settings.from_env(
        {
            "RESULTS_S3_BUCKET": "scan-results",
            "RESULTS_S3_PREFIX": "/team/scans/",
            "SCAN_TIMEOUT": "600",
            "CACHE_TTL_HOURS": "6",
            "FAIL_ON": "CRITICAL",
            "POLICY_TAGS": "prod, pci,",
            "SCAN_TYPES": "pkg,secret",
            "QUALYS_ACCESS_TOKEN": SENTINEL_TOKEN,
            "MAX_UNPACKED_BYTES": "2147483648",
        }
    )
    assert settings.max_unpacked_bytes == 2 * 1024**3
    assert settings.results_prefix == "team/scans"
    assert (settings.scan_timeout, settings.cache_ttl_hours, settings.fail_on) == (
        600,
        6,
        "critical",
    )
    assert settings.policy_tags == ("prod", "pci") and settings.scan_types == ("pkg", "secret")
    assert SENTINEL_TOKEN not in repr(settings)


@pytest.mark.parametrize(
    "env",
    [
        {"SCAN_TIMEOUT": "0"},
        {"CACHE_TTL_HOURS": "1h"},
        {"RESULTS_S3_BUCKET": "Bad_Bucket"},
        {"MAX_UNPACKED_BYTES": "-1"},
    ],
)
def test_invalid_values_are_rejected(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env(env)


def test_secret_fills_what_the_environment_lacks() -> None:
    secret = json.dumps(
        {
            "qualys_pod": "US3",
            "qualys_access_token": "t1",
            "registry_username": "ci",
            "registry_password": "pw",
        }
    )
    filled = Settings().with_secret(secret)
    assert filled.qualys_pod == "US3" and filled.credentials.access_token == "t1"
    assert (filled.registry_username, filled.registry_password) == ("ci", "pw")
    assert set(filled.secrets()) == {"t1", "pw"}
    given = Settings(qualys_pod="US1", credentials=QualysCredentials(access_token="env"))
    kept = given.with_secret(secret)
    assert kept.qualys_pod == "US1" and kept.credentials.access_token == "env"
    with pytest.raises(SettingsError):
        Settings().with_secret("[1]")
    with pytest.raises(SettingsError):
        Settings().with_secret('{"a":' * 100_000)


def test_oauth_pair_wins_over_a_token() -> None:
    creds = QualysCredentials(access_token="a", client_id="id", client_secret="s")
    assert creds.as_env() == {"QUALYS_CLIENT_ID": "id", "QUALYS_CLIENT_SECRET": "s"}
    assert repr(creds) == "QualysCredentials()"
