"""Terminal output shared by the commands."""

from __future__ import annotations

import sys

from rich.console import Console


def wide_console() -> Console:
    """A console for tables: the terminal's width, or 120 columns in a pipe or CI log (rich
    would otherwise squeeze every table into 80)."""
    return Console(width=None if sys.stdout.isatty() else 120)
