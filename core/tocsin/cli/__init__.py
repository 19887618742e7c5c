"""The ``tocsin`` command line. Exit codes: 0 all delivered, 1 some delivery failed, 2 bad config or usage,
75 some delivery left pending in a durable outbox, 130/143 interrupted by SIGINT/SIGTERM.

One module per command group (``send``, ``setup``, …); each adds its commands to :func:`main` here.
Plugins add their own commands through the ``register_commands(cli)`` hook (llm's and datasette's
pattern), so tools such as an outbox UI can ship as separate distributions.
"""

from __future__ import annotations

import click

from .common import CONFIG_HELP, EXIT_FAILED, EXIT_OK, EXIT_USAGE, VERBOSE_HELP, global_options, safe_output
from .outbox import outbox
from .route import route
from .send import render, send, test
from .setup import channels, check, init
from .templates import templates
from .worker import worker

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "main"]


class PluginCommands(click.Group):
    """The command group; commands that plugins add (``register_commands``) are loaded on first need.

    Built-in commands never wait for plugin discovery; a plugin whose hook fails is reported, not fatal.
    """

    _plugins_loaded = False

    def _load_plugin_commands(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        from ..plugins import PluginRegistry

        try:
            PluginRegistry().hook.register_commands(cli=self)
        except Exception as exc:  # a plugin bug must not take the whole CLI down
            click.echo(f"warning: a plugin's register_commands failed: {type(exc).__name__}: {exc}", err=True)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None:
            self._load_plugin_commands()
            command = super().get_command(ctx, cmd_name)
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        return super().list_commands(ctx)


@click.group(cls=PluginCommands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tocsin", prog_name="tocsin")  # the version is read only for --version
@click.option("--config", "-c", "config", metavar="PATH", help=CONFIG_HELP)
@click.option("--verbose", "-v", count=True, help=VERBOSE_HELP)
@click.pass_context
def main(ctx: click.Context, config: str | None, verbose: int) -> None:
    """tocsin: send events (a job failed, a backup finished) to Discord, Slack, Teams, email, webhooks.

    -c/--config and -v work before the command (tocsin -c x.toml send …) and after it.
    """
    safe_output()  # everything printed from here on: terminal-safe and scrubbed of secrets
    global_options(ctx, config, verbose)


for command in (send, test, render, route, channels, check, init, templates, outbox, worker):
    main.add_command(command)


if __name__ == "__main__":  # pragma: no cover
    main()
