"""The console script's command table is complete and every entry loads."""

from __future__ import annotations

import importlib

import click
from click.testing import CliRunner

from scanner_runner.cli import COMMANDS, SHORT_HELP, main

CONTRACT = {"dispatch", "pull", "scan", "report", "start-build", "demo", "verdict", "gate",
            "sweep", "status"}  # fmt: skip


def test_command_table_matches_the_contract() -> None:
    assert set(COMMANDS) == CONTRACT
    assert set(SHORT_HELP) == CONTRACT


def test_every_command_loads_and_has_help() -> None:
    runner = CliRunner()
    for name, target in COMMANDS.items():
        module_name, _, attribute = target.partition(":")
        assert isinstance(getattr(importlib.import_module(module_name), attribute), click.Command)
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert "Usage:" in result.output


def test_top_level_help_lists_commands() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in CONTRACT:
        assert name in result.output
