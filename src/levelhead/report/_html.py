"""The HTML report: one self-contained file that works offline.

Sections (see :mod:`levelhead.analysis`) are rendered by a jinja2 template with autoescape
on, so every string a section carries — model replies above all — reaches the page as text.
Charts are plotly figures stored as JSON in ``<script type="application/json">`` elements (with
``<``, ``>``, ``&`` and the two JavaScript line separators written as ``\\uXXXX``, so no reply
can close the element); plotly's own JavaScript comes from the installed ``plotly`` package,
gzip-compressed and base64-encoded (the plain file alone is 4.8 MB), and is unpacked in the
page with ``DecompressionStream``. Where that fails, the page says so and every chart keeps its
table with the same numbers.
"""

from __future__ import annotations

import base64
import gzip
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from levelhead.analysis import (
    Bullet,
    Card,
    Chart,
    Language,
    Paragraph,
    ReportSection,
    RunData,
    SampleKey,
    Table,
    Transcript,
    say,
)
from levelhead.records import Finding
from levelhead.report._sections import report_sections

__all__ = ["figure_json", "plotly_js_gz_b64", "render_report", "write_report"]

Statuses = Mapping[tuple[str, str, str, str | None], str]

# Written as \uXXXX inside JSON: "<" and ">" so "</script>" or "<!--" cannot end or change the
# script element, "&" for good measure, U+2028/2029 because older JavaScript parsers treat them as
# line ends.
_JSON_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026",
                 0x2028: "\\u2028", 0x2029: "\\u2029"}


@lru_cache(maxsize=1)
def plotly_js_gz_b64() -> str:
    """plotly.js from the installed ``plotly`` package, gzip-compressed and base64-encoded
    (computed once per process: compressing 4.8 MB takes a noticeable fraction of a second)."""
    source = resources.files("plotly") / "package_data" / "plotly.min.js"
    raw = source.read_bytes()
    return base64.b64encode(gzip.compress(raw, compresslevel=9, mtime=0)).decode("ascii")


def _finite(value: Any) -> Any:
    """The figure with NaN and infinities as ``null`` (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def figure_json(figure: Mapping[str, Any]) -> str:
    """A figure as JSON that is safe inside a ``<script type="application/json">`` element."""
    text = json.dumps(_finite(dict(figure)), ensure_ascii=False, separators=(",", ":"))
    return text.translate(_JSON_ESCAPES)


def _cell(value: Any, lang: Language = "en") -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return say(lang, "word.yes" if value else "word.no")
    if isinstance(value, float):
        return "–" if not math.isfinite(value) else f"{value:.4g}"
    return str(value)


def _role(role: str, lang: Language) -> str:
    """Who speaks a turn, in the reader's language (a role of a probe's own, as it is)."""
    return say(lang, f"role.{role}") if role in ("system", "user", "assistant") else role


_ANCHOR = re.compile(r"[^a-z0-9_-]+")


def _anchor(text: str, taken: set[str]) -> str:
    base = _ANCHOR.sub("-", text.lower()).strip("-") or "section"
    anchor, i = base, 2
    while anchor in taken:
        anchor, i = f"{base}-{i}", i + 1
    taken.add(anchor)
    return anchor


_STATUSES = ("pass", "fail", "undecided")


class _Views:
    """Blocks as plain dicts for the template (the template never sees a figure as markup).

    ``links`` maps a section's own anchor to its id in the page: a block's link to a section
    that is not on the page is dropped rather than left dangling."""

    def __init__(self, lang: Language = "en", links: Mapping[str, str] | None = None) -> None:
        self.charts = 0
        self.lang = lang
        self.links = links or {}

    def _status(self, status: str | None) -> tuple[str | None, str]:
        if status not in _STATUSES:
            return None, ""
        return status, say(self.lang, "card.gate", status=say(self.lang, f"status.{status}"))

    def table(self, table: Table) -> dict[str, Any]:
        return {"kind": "table", "caption": table.caption, "columns": list(table.columns),
                "rows": [[_cell(c, self.lang) for c in row] for row in table.rows],
                "numeric": [all(isinstance(row[i], int | float) or row[i] is None
                                for row in table.rows) and bool(table.rows)
                            for i in range(len(table.columns))]}

    def block(self, block: Any) -> dict[str, Any]:
        from markupsafe import Markup

        if isinstance(block, Paragraph):
            return {"kind": "paragraph", "text": block.text}
        if isinstance(block, Table):
            return self.table(block)
        if isinstance(block, Chart):
            self.charts += 1
            return {"kind": "chart", "id": f"chart-{self.charts}", "caption": block.caption,
                    # figure_json escapes everything that could end the script element.
                    "figure": Markup(figure_json(block.figure)),  # noqa: S704
                    "table": self.table(block.table) if block.table is not None else None}
        if isinstance(block, Transcript):
            return {"kind": "transcript", "title": block.title, "meta": list(block.meta),
                    # A turn is (role, text) or (role, text, note): a note flags the turn
                    # (e.g. the judge's label on a bad turn of a conversation).
                    "turns": [{"role": t[0], "role_text": _role(t[0], self.lang), "text": t[1],
                               "note": t[2] if len(t) > 2 else ""} for t in block.turns]}
        if isinstance(block, Card):
            status, status_text = self._status(block.status)
            return {"kind": "card", "title": block.title, "value": block.value,
                    "detail": block.detail, "status": status, "status_text": status_text,
                    "corrected": block.corrected, "note": block.note,
                    "link": self.links.get(block.link, "")}
        if isinstance(block, Bullet):
            status, _ = self._status(block.status)
            return {"kind": "bullet", "text": block.text, "note": block.note, "status": status,
                    "link": self.links.get(block.link, "")}
        raise TypeError(f"a report section holds Paragraph, Table, Chart, Transcript, Card or "
                        f"Bullet blocks, not {type(block).__name__}")


@lru_cache(maxsize=1)
def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(loader=PackageLoader("levelhead.report", "templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _asset(name: str) -> str:
    return (resources.files("levelhead.report") / "templates" / name).read_text(encoding="utf-8")


def render_report(data: RunData, findings: list[Finding], *,
                  extra_sections: Sequence[ReportSection] = (),
                  statuses: Statuses | None = None,
                  conversations: Mapping[SampleKey, Sequence[tuple[str, str]]] | None = None,
                  thresholds: Mapping[tuple[str, str, str, str | None], float] | None = None,
                  lang: Language = "en") -> str:
    """The whole report page of a run as one HTML string.

    Args:
        data: The run (see :func:`~levelhead.report.load_run_data`).
        findings: Its findings (see :func:`~levelhead.report.compute_findings`).
        extra_sections: Sections from elsewhere (compare, gate), placed by their ``order``.
        statuses: A gate's verdict per behaviour, keyed ``(target, probe, metric, group)``:
            ``"pass"``, ``"fail"`` or ``"undecided"``; shown on the summary cards.
        conversations: Whole transcripts of the worst replies (see
            :func:`~levelhead.report._tail.tail_conversations`); without them the tail shows
            each reply alone.
        thresholds: A policy's ``max`` per behaviour (see
            :func:`~levelhead.report._attention.policy_thresholds`): the no-problem value of
            those rates in "What needs attention" (0 without one).
        lang: The reader's language (``"en"`` or ``"zh"``): the page's own words, its
            plain-word sentences and every section's, a probe's own included.

    Returns:
        The page; every string in it that came from a run is escaped.
    """
    from markupsafe import Markup

    sections = report_sections(data, findings, statuses=statuses or {},
                               conversations=conversations or {}, thresholds=thresholds,
                               lang=lang)
    sections += list(extra_sections)
    sections.sort(key=lambda s: s.order)  # stable: equal orders keep their arrival order
    taken = set[str]()
    anchors = [_anchor(s.anchor or s.title, taken) for s in sections]
    links: dict[str, str] = {}
    for s, anchor in zip(sections, anchors, strict=True):
        links.setdefault(s.anchor or s.title, anchor)  # a link goes to the first such section
    views = _Views(lang, links)
    page = [{"title": s.title, "anchor": anchor, "blocks": [views.block(b) for b in s.blocks]}
            for s, anchor in zip(sections, anchors, strict=True)]
    samples = len(data.samples)
    template = _environment().get_template("report.html.j2")
    created = say(lang, "page.created", at=data.created_at) if data.created_at else ""
    words = {key.removeprefix("page."): text for key, text in _page_words(lang).items()}
    page_html: str = template.render(
        words=words, html_lang="zh-Hans" if lang == "zh" else "en",
        title=say(lang, "page.title", run=data.run_name),
        facts=say(lang, "page.facts", id=data.run_id, created=created, samples=samples,
                  targets=", ".join(data.targets()),
                  probes=", ".join(sorted({s.probe for s in data.samples}))),
        run=data, sections=page, samples=samples, targets=data.targets(),
        incomplete=data.incomplete or "",
        probes=sorted({s.probe for s in data.samples}),
        # Our own package files, not run data: inlined as they are (escaping would break CSS).
        css=Markup(_asset("report.css")), js=Markup(_asset("report.js")),  # noqa: S704
        plotly=plotly_js_gz_b64() if views.charts else "", charts=views.charts)
    return page_html


def _page_words(lang: Language) -> dict[str, str]:
    """The page's own fixed words (heading, notes, footer) in ``lang``."""
    return {key: say(lang, key) for key in (
        "page.heading", "page.incomplete", "page.incomplete_text", "page.nav", "page.footer",
        "page.numbers", "page.charts_failed", "page.more")}


def write_report(path: str | os.PathLike[str], html: str) -> int:
    """Write the page (UTF-8) and return its size in bytes."""
    data = html.encode("utf-8")
    Path(path).write_bytes(data)
    return len(data)
