"""The ``levelhead`` command: thin click commands that parse, call the library, and render.

Expected failures (:class:`~levelhead.errors.LevelheadError`) print one line and exit with the
error's code; ``--debug`` shows the traceback instead. The global options (``--store``,
``--debug``) may also be given after the command, as in ``llm`` or ``datasette``
(``levelhead export RUN --store runs.db``); there they win over the same option before it.
May import every other package.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from levelhead._version import __version__
from levelhead.errors import LevelheadError

__all__ = ["cli", "main"]


# Commands load on use: `levelhead run` must not pay for numpy/scipy at start-up.
_COMMANDS = {
    "run": "levelhead.cli._run:run",
    "ask": "levelhead.cli._ask:ask",
    "runs": "levelhead.cli._browse:runs",
    "show": "levelhead.cli._browse:show",
    "export": "levelhead.cli._browse:export",
    "plan": "levelhead.cli._plan:plan_command",
    "judge": "levelhead.cli._judge:judge",
    "agreement": "levelhead.cli._agreement:agreement",
    "findings": "levelhead.cli._findings:findings",
    "import": "levelhead.cli._import:import_group",
    "report": "levelhead.cli._report:report",
    "compare": "levelhead.cli._compare:compare",
    "gate": "levelhead.cli._gate:gate",
    "review": "levelhead.cli._review:review",
    "serve": "levelhead.cli._serve:serve",
    "guard": "levelhead.cli._guard:guard",
    "guard-stats": "levelhead.cli._guard:guard_stats",
    "monitor": "levelhead.cli._monitor:monitor",
    "store": "levelhead.cli._store:store_group",
}


def _store_after(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:  # given after the command: it wins over `levelhead --store` and the env
        ctx.ensure_object(dict)["store"] = value


def _debug_after(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(dict)["debug"] = True


def _with_global_options(command: click.Command) -> click.Command:
    """Let ``command`` (and a group's subcommands) take ``--store`` and ``--debug`` after its name.

    They write the same ``ctx.obj`` keys as the group's options, which are parsed first, so the
    one after the command wins. No envvar or default here: without the option the group's value
    (``--store`` before the command, ``LEVELHEAD_STORE``, ``levelhead.db``) stands. Applied once
    per command object, when it is loaded, so that ``--help`` lists each option once.
    """
    if not any(param.name == "global_store" for param in command.params):
        command.params.extend([
            click.Option(["--store", "global_store"], metavar="PATH", expose_value=False,
                         callback=_store_after,
                         help="SQLite store file (or set LEVELHEAD_STORE; default: "
                              "levelhead.db). Same as --store before the command; this one wins."),
            click.Option(["--debug", "global_debug"], is_flag=True, expose_value=False,
                         callback=_debug_after,
                         help="Show tracebacks of expected errors (same as --debug before the "
                              "command)."),
        ])
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _with_global_options(sub)
    return command


class _Group(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attr = target.split(":")
        return _with_global_options(getattr(importlib.import_module(module), attr))

    def resolve_command(self, ctx: click.Context, args: list[str]
                        ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in _COMMANDS:
            from levelhead.registry import did_you_mean

            raise click.UsageError(f"no command '{name}'; {did_you_mean(name, list(_COMMANDS))}")
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LevelheadError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.secho(f"error: {exc}", fg="red", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            # 128 + SIGINT, as shells report it; click's own "Aborted!" would exit 1, which the
            # gate reads as "fail". `run` and `ask` say how to resume before they get here.
            click.echo("interrupted", err=True)
            ctx.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="levelhead")
@click.option("--store", "store_path", envvar="LEVELHEAD_STORE", default="levelhead.db",
              metavar="PATH", show_default=True,
              help="SQLite store file (or set LEVELHEAD_STORE); also accepted after the "
                   "command, where it wins.")
@click.option("--debug", is_flag=True,
              help="Show tracebacks of expected errors (also accepted after the command).")
@click.pass_context
def cli(ctx: click.Context, store_path: str, debug: bool) -> None:
    """Sample chat models many times, judge the replies, report honest statistics.

    \b
    Start with:  levelhead ask "Why is the sky blue?" --target local -n 20
    Then:        levelhead run examples/demo.toml ; levelhead show demo
    """
    ctx.ensure_object(dict)
    ctx.obj["store"] = store_path
    ctx.obj["debug"] = debug


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="levelhead")


if __name__ == "__main__":  # pragma: no cover
    main()
