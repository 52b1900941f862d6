"""The `deployscan` console script: one click group, each command in its own module.

Commands are imported only when invoked, so `deployscan dispatch` does not pay for jinja2 and
`deployscan --help` stays fast.
"""

from __future__ import annotations

import importlib

import click

# name -> "module:attribute". The one place a command name maps to its implementation.
COMMANDS: dict[str, str] = {
    "dispatch": "scanner_runner.cli.dispatch:dispatch",
    "pull": "scanner_runner.cli.pull:pull",
    "scan": "scanner_runner.cli.scan:scan",
    "report": "scanner_runner.cli.report:report",
    "start-build": "scanner_runner.cli.build:start_build",
    "demo": "scanner_runner.cli.demo:demo",
    "verdict": "scanner_runner.cli.verdict:verdict",
    "gate": "scanner_runner.cli.gate:gate",
    "sweep": "scanner_runner.cli.sweep:sweep",
    "status": "scanner_runner.cli.status:status",
}

SHORT_HELP: dict[str, str] = {
    "dispatch": "Turn deploy events into build/skip decisions (and start builds).",
    "pull": "Pull an image over the registry API into an archive.",
    "scan": "Pull (or take an archive), scan, decide, write and publish reports.",
    "report": "Re-render a saved report in another format.",
    "start-build": "Start a scan build in CodeBuild by hand.",
    "demo": "Run the whole flow on this machine with embedded defaults.",
    "verdict": "The deploy gate's allow/deny answer for images, from the scan cache.",
    "gate": "What a gate hook Lambda answers for a payload (ECS, CloudFormation, CodeDeploy).",
    "sweep": "List what runs now in every account-region; scan what is unscanned or stale.",
    "status": "What runs now and its latest verdict, riskiest first.",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SHORT_HELP[name]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="deployscan")
def main() -> None:
    """deployscan: scan every image deployed to ECS/Fargate and Lambda."""
