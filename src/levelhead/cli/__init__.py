"""The ``levelhead`` command: thin click commands that parse, call the library, and render.

Expected failures (:class:`~levelhead.errors.LevelheadError`) print one line and exit with the
error's code; ``--debug`` shows the traceback instead. May import every other package.
"""

from __future__ import annotations

import sys

import click

from levelhead import __version__
from levelhead.errors import LevelheadError

__all__ = ["cli", "main"]


class _Group(click.Group):
    def invoke(self, ctx: click.Context):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except LevelheadError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.secho(f"error: {exc}", fg="red", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="levelhead")
@click.option("--store", "store_path", envvar="LEVELHEAD_STORE", default="levelhead.db",
              show_default=True, help="SQLite store file (or set LEVELHEAD_STORE).")
@click.option("--debug", is_flag=True, help="Show tracebacks of expected errors.")
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


def _register() -> None:
    from levelhead.cli._ask import ask
    from levelhead.cli._browse import export, runs, show
    from levelhead.cli._run import run

    for command in (run, ask, runs, show, export):
        cli.add_command(command)
    try:
        from levelhead.cli._plan import plan_command
    except ImportError:  # pragma: no cover - the plan command ships with levelhead.stats
        return
    cli.add_command(plan_command, "plan")


_register()


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="levelhead")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
