"""What a report page is made of: sections of typed blocks, never raw HTML.

Every probe may add sections of its own by defining, on its class,
``report_sections(data, findings, probe_id) -> list[ReportSection]``; compare and gate add
theirs the same way. Blocks carry plain text and numbers only: the renderer escapes all of it,
so a model reply can never become markup, whichever section shows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Paragraph:
    """A paragraph of plain text (escaped when rendered)."""

    text: str


@dataclass(frozen=True, slots=True)
class Table:
    """A table of plain cells; ``None`` cells show as a dash."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    caption: str = ""


@dataclass(frozen=True, slots=True)
class Chart:
    """A plotly figure as plain data (``{"data": [...], "layout": {...}}``), with the same numbers
    as a table for readers without JavaScript and for screen readers."""

    figure: dict[str, Any]
    caption: str
    table: Table | None = None


@dataclass(frozen=True, slots=True)
class Transcript:
    """A conversation shown whole: ``turns`` are (role, text) pairs; ``meta`` are labelled
    facts (target, prompt, sample, verdicts)."""

    title: str
    turns: tuple[tuple[str, ...], ...]  # (role, text) or (role, text, note)
    meta: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Card:
    """A summary card: one behaviour's headline number."""

    title: str
    value: str
    detail: str = ""
    status: str | None = None  # "pass" | "fail" | "undecided" (from a gate), or None


Block = Paragraph | Table | Chart | Transcript | Card


@dataclass(frozen=True, slots=True)
class ReportSection:
    """One section of the page. ``order`` sorts sections (summary 0, probes 100, compare 200,
    gate 300, tail 400, methods 800, limitations 900); ``anchor`` is its id in the page."""

    title: str
    anchor: str
    blocks: tuple[Block, ...] = field(default_factory=tuple)
    order: int = 100
