"""Terminal output shared by the commands."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.text import Text


def wide_console() -> Console:
    """A console for tables: the terminal's width, or 120 columns in a pipe or CI log (rich
    would otherwise squeeze every table into 80)."""
    return Console(width=None if sys.stdout.isatty() else 120)


# C0 controls, DEL and C1 controls: ESC (0x1b) and CSI (0x9b) start terminal escape sequences,
# BEL ends OSC ones, and newline, tab or carriage return would forge lines or columns.
_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}


def printable(text: str) -> str:
    """``text`` safe to show on a terminal: every control character (C0, DEL, C1: newline and
    tab too) becomes a visible ``\\xNN``, so a name read from a log or a request cannot move the
    cursor, retitle the window, clear the screen or forge a line. For names and lines from logs
    and requests in text output; JSON output keeps them exact."""
    return text.translate(_CONTROLS)


def cell(text: str) -> Text:
    """An untrusted name as a rich table cell or title: :func:`printable`, and never read as
    rich markup (a model named ``[/x]`` would otherwise stop the table with a MarkupError)."""
    return Text(printable(text))
