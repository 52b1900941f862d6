"""`deployscan scan --lambda/--layer` at the edge: contradicting or malformed targets are usage
errors (exit 2) before anything is fetched."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from scanner_runner.cli import main
from tests.lambdazip.conftest import FUNCTION, LAYER

SHA = "YFgDgEKG3ugvF1+pX64gV6tu9qNuIYNUdgJm8nCxsm4="


@pytest.mark.parametrize(
    ("args", "env", "words"),
    [
        (["alpine:3.20", "--lambda", FUNCTION], {}, "give one target"),
        (["--lambda", FUNCTION, "--layer", LAYER], {}, "give one target"),
        (["--lambda", FUNCTION + ";reboot"], {}, "LAMBDA_ARN is not a Lambda function ARN"),
        (["--lambda", FUNCTION + ":$LATEST"], {}, "LAMBDA_ARN is not a Lambda function ARN"),
        (["--layer", LAYER.rsplit(":", 1)[0]], {}, "LAYER_ARN is not a layer ARN"),
        (["--lambda", FUNCTION, "--code-sha256", "abc"], {}, "CODE_SHA256 is not a base64"),
        (["--code-sha256", SHA, "alpine:3.20"], {}, "--code-sha256 needs --lambda or --layer"),
        ([], {"TARGET_KIND": "lambda-zip", "IMAGE_REF": "alpine:3.20"}, "its ARN is not set"),
        ([], {"TARGET_KIND": "lambda-zip"}, "its ARN is not set"),
    ],
)
def test_bad_zip_targets_are_usage_errors(
    args: list[str], env: dict[str, str], words: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        main, ["scan", "--no-publish", "--output-dir", str(tmp_path / "o"), *args], env=env
    )
    assert result.exit_code == 2, result.output
    assert words in result.output
    assert not (tmp_path / "o").exists()
