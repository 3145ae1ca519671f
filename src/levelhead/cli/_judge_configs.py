"""The judges a command is given: ``--judge NAME`` (repeatable) and ``--judges-file FILE``."""

from __future__ import annotations

import tomllib
from typing import Any

from levelhead.cli._files import read_text
from levelhead.errors import SpecError
from levelhead.spec import judge_configs

__all__ = ["judge_configs_from"]


def judge_configs_from(names: tuple[str, ...], judges_file: str | None) -> list[Any]:
    """The validated configs of ``--judge`` names and a ``--judges-file`` of [[judges]] tables."""
    entries: list[Any] = list(names)
    if judges_file:
        text = read_text(judges_file, what="judges file")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SpecError(f"{judges_file}: not valid TOML ({exc})") from None
        tables = data.get("judges")
        if not isinstance(tables, list):
            raise SpecError(f"{judges_file}: expected [[judges]] tables")
        return judge_configs(entries, ("--judge",), "command line") + judge_configs(
            tables, ("judges",), judges_file)
    if not entries:
        raise SpecError("name at least one judge: --judge NAME (or --judges-file FILE)")
    return judge_configs(entries, ("--judge",), "command line")
