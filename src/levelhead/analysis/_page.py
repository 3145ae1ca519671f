"""What a report page is made of: sections of typed blocks, never raw HTML.

A link (``Card.link``, ``Bullet.link``) names the ``anchor`` of another section as that section
gives it; the renderer turns it into the section's id in the page.

Every probe may add sections of its own through its ``report_sections(data, findings,
probe_id, lang) -> list[ReportSection]`` hook (its words in the reader's language, from the
catalogue: :func:`~levelhead.analysis.say`); compare and gate add theirs the same way. Blocks carry
plain text and numbers only: the renderer escapes all of it, so a model reply can never become
markup, whichever section shows it. :func:`percent` and :func:`figure_label` are how every
section writes a rate and a label that goes into a figure; :func:`sample_transcripts` and
:func:`probe_section` are the two shapes probe sections share.
"""

from __future__ import annotations

import html
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from levelhead.analysis._language import Language, say

__all__ = ["Block", "Bullet", "Card", "Chart", "Paragraph", "ReportSection", "Table", "Transcript",
           "figure_label", "known", "percent", "probe_section", "sample_transcripts"]


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
    """A summary card: one behaviour's headline number; ``corrected`` is the same number
    corrected for the judge's measured errors, with its ``note`` when it has one."""

    title: str
    value: str
    detail: str = ""
    status: str | None = None  # "pass" | "fail" | "undecided" (from a gate), or None
    corrected: str = ""
    note: str = ""
    link: str = ""  # the anchor of the section with more (e.g. "probe-politics.mirrored")


@dataclass(frozen=True, slots=True)
class Bullet:
    """One line of a compact list (consecutive bullets make one list): plain text, with a link
    to the anchor of the section that says more, a smaller ``note`` under it, and a gate's
    ``status`` where one decided on it."""

    text: str
    link: str = ""
    note: str = ""
    status: str | None = None  # "pass" | "fail" | "undecided", or None


Block = Paragraph | Table | Chart | Transcript | Card | Bullet


@dataclass(frozen=True, slots=True)
class ReportSection:
    """One section of the page. ``order`` sorts sections (summary 0, probes 100, compare 200,
    gate 300, tail 400, methods 800, limitations 900); ``anchor`` is its id in the page."""

    title: str
    anchor: str
    blocks: tuple[Block, ...] = field(default_factory=tuple)
    order: int = 100


def percent(x: float | None) -> str:
    """A rate as a percentage with sensible digits (``"7.5 %"``, ``"0.012 %"``)."""
    if x is None or not math.isfinite(x):
        return "–"
    value = 100 * x
    if value == 0 or value >= 1 or value <= -1:
        return f"{value:.1f} %".replace(".0 %", " %")
    return f"{value:.2g} %"


def known(value: float | None) -> float:
    """``value``, which the caller knows is set: a finding's interval where it has an estimate.
    Raises TypeError on None, as arithmetic on it would."""
    if value is None:
        raise TypeError("a number was expected, not None")
    return value


def figure_label(text: Any) -> str:
    """Text for a plotly label: plotly reads some tags (``<b>``, ``<a href>``) in labels, so
    ``&``, ``<`` and ``>`` are written as entities, which it shows as the characters."""
    return html.escape(str(text), quote=False)


TOP = 3  # replies shown per target in a probe's section: enough to see it, small for 100k samples


def sample_transcripts(samples: Iterable[Any], pick: Callable[[Any], bool],
                       score: Callable[[Any], float], turns: Callable[[Any], Sequence[tuple[str, str]]],
                       why: str, top: int = TOP, lang: Language = "en") -> list[Transcript]:
    """Up to ``top`` good samples per target for which ``pick(sample)`` holds, highest
    ``score`` first, each shown whole: ``turns(sample)`` then the reply; the facts beside it
    are labelled in ``lang`` (``why`` is the caller's, already in it)."""
    chosen: dict[str, list[Any]] = defaultdict(list)
    for s in samples:
        if s.ok and pick(s):
            chosen[s.target].append(s)
    out = []
    for target in sorted(chosen):
        ranked = sorted(chosen[target], key=lambda s: (-score(s), s.prompt_id, s.sample_index))
        for s in ranked[:top]:
            out.append(Transcript(f"{why} · {target} · {s.prompt_id} #{s.sample_index}",
                                  tuple(turns(s)) + (("assistant", s.text or ""),),
                                  ((say(lang, "word.target"), target),
                                   (say(lang, "word.prompt"), s.prompt_id),
                                   (say(lang, "word.sample"), str(s.sample_index)),
                                   (say(lang, "word.lang"), s.tags.get("lang", "")))))
    return out


def probe_section(title: str, probe_id: str, blocks: Sequence[Block | None]) -> list[ReportSection]:
    """A probe's section (order 100) of the blocks that are not None; none when nothing but
    the introduction is left."""
    kept = [b for b in blocks if b is not None]
    if len(kept) <= 1:
        return []
    return [ReportSection(title, f"probe-{probe_id}", tuple(kept), order=100)]
