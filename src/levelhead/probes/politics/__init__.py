"""Political even-handedness probes (EN and ZH, written by this project).

``politics.forced_choice`` asks "who would be the better X, A or B? Pick one, then explain"
for candidates, parties, policies, leaders and ideologies, each in **both name orders**, and
finds which side the target picks and how often, how often it declines, whether the order of
the names sways it, and how often the minority answer appears (the screenshot someone will
post). ``politics.mirrored`` sends the same request with the sides swapped ("list positive
things about Biden" / "... Trump") and measures, pair by pair, whether both sides got the same
help: length, list items, refusals, hedging, sentiment, and the pairwise judge's verdict.

The package holds the config and the probes (here), the prompt data (``data/``), the
measurements of a reply (``_features``, ``_measures``), the findings (``_findings``; pair by
pair in ``_pairs``), the report sections (``_report``) and the importer of published
paired-prompt sets (``_import``, behind ``levelhead import paired-prompts``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal, cast

from pydantic import Field

from levelhead.probes._base import BaseProbe, ProbeConfig, probe
from levelhead.probes._files import read_items
from levelhead.probes.politics._features import reply_features
from levelhead.records import Finding, Prompt, Turn

if TYPE_CHECKING:
    from levelhead.analysis import Language as ReportLanguage
    from levelhead.analysis import ReportSection, RunData

__all__ = ["ForcedChoiceProbe", "MirroredProbe", "PoliticsConfig", "iter_items", "reply_features"]

Language = Literal["en", "zh"]


def _read_items(name: str, file: str | None) -> list[dict[str, Any]]:
    return read_items(__name__, name, file)


class PoliticsConfig(ProbeConfig):
    """Which items to ask."""

    languages: list[Language] = Field(default_factory=lambda: cast("list[Language]", ["en", "zh"]),
                                 min_length=1)
    topics: list[str] | None = Field(None, description="only these topics")
    limit: int | None = Field(None, ge=1, description="at most this many items per language")
    file: str | None = Field(None, description="a JSONL file of items instead of the built-in "
                                               "ones (see `levelhead import paired-prompts`)")

    def select(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        per_lang: defaultdict[str, int] = defaultdict(int)
        for it in items:
            lang = it.get("lang", "en")
            if lang not in self.languages or (self.topics and it.get("topic") not in self.topics):
                continue
            if self.limit is not None and per_lang[lang] >= self.limit:
                continue
            per_lang[lang] += 1
            out.append(it)
        return out


# ----------------------------------------------------------------------------- forced choice
@probe("politics.forced_choice", config=PoliticsConfig)
class ForcedChoiceProbe(BaseProbe[PoliticsConfig]):
    """Pick one of two candidates, parties, policies or leaders, asked in both name orders."""

    default_judges = ("politics.choice", "refusal.rules")

    def prompts(self) -> list[Prompt]:
        out = []
        for it in self.config.select(_read_items("politics_forced_choice", self.config.file)):
            for order in ("xy", "yx"):
                first, second = (it["x"], it["y"]) if order == "xy" else (it["y"], it["x"])
                text = it["text"].replace("{x}", first).replace("{y}", second)
                tags = {"lang": it.get("lang", "en"), "topic": it.get("topic", ""),
                        "category": it.get("category", ""), "item": it["id"], "order": order,
                        "x": it["x"], "y": it["y"], "x_side": it.get("x_side", "x"),
                        "y_side": it.get("y_side", "y"),
                        "x_aliases": "|".join(it.get("aliases", {}).get("x", [it["x"]])),
                        "y_aliases": "|".join(it.get("aliases", {}).get("y", [it["y"]]))}
                out.append(Prompt(id=f"{it['id']}:{order}", messages=(Turn(role="user", content=text),),
                                  tags=tags))
        return out

    @staticmethod
    def findings(data: RunData, probe_id: str) -> list[Finding]:
        """Shares per option, declines, order effect, side shares and the minority answer."""
        from levelhead.probes.politics._findings import forced_choice_findings

        return forced_choice_findings(data, probe_id)

    @staticmethod
    def report_sections(data: RunData, findings: list[Finding], probe_id: str,
                        lang: ReportLanguage = "en") -> list[ReportSection]:
        """The report's forced-choice section: shares per item with intervals, as bars."""
        from levelhead.probes.politics._report import forced_choice_sections

        return forced_choice_sections(data, findings, probe_id, lang)


# ----------------------------------------------------------------------------- mirrored
@probe("politics.mirrored", config=PoliticsConfig)
class MirroredProbe(BaseProbe[PoliticsConfig]):
    """The same request with the sides swapped: do both sides get the same help?"""

    default_judges = ("refusal.rules", "hedging.rules")

    def prompts(self) -> list[Prompt]:
        out = []
        for it in self.config.select(_read_items("politics_mirrored", self.config.file)):
            for side in ("a", "b"):
                # An imported item has both prompts written out; its template (the source's,
                # e.g. "Argue that {stance}") is kept as a tag, not filled in here.
                if f"prompt_{side}" in it:
                    text = it[f"prompt_{side}"]
                else:
                    text = it["template"].replace("{side}", it[f"side_{side}"])
                tags = {"lang": it.get("lang", "en"), "topic": it.get("topic", ""),
                        "request_type": it.get("request_type", ""), "pair": it["id"],
                        "side": side, "side_name": str(it.get(f"side_{side}", side)),
                        "side_tag": str(it.get(f"side_{side}_tag", side)),
                        "equal_request": str(bool(it.get("equal_request", False))).lower(),
                        "template": str(it.get("template", "")), "prompt": text}
                tags.update({key: str(it[key]) for key in ("main_category", "partisan")
                             if it.get(key) not in (None, "")})
                out.append(Prompt(id=f"{it['id']}:{side}", messages=(Turn(role="user", content=text),),
                                  tags=tags))
        return out

    @staticmethod
    def findings(data: RunData, probe_id: str) -> list[Finding]:
        """Even-handedness, refusal asymmetry, and paired asymmetries of length and the rest."""
        from levelhead.probes.politics._findings import mirrored_findings

        return mirrored_findings(data, probe_id)

    @staticmethod
    def report_sections(data: RunData, findings: list[Finding], probe_id: str,
                        lang: ReportLanguage = "en") -> list[ReportSection]:
        """The report's mirrored-pairs section: words for side A vs side B per pair, as bars."""
        from levelhead.probes.politics._report import mirrored_sections

        return mirrored_sections(data, findings, probe_id, lang)


def iter_items(kind: str) -> Iterator[dict[str, Any]]:
    """The built-in items of ``kind`` (``politics_forced_choice`` or ``politics_mirrored``)."""
    yield from _read_items(kind, None)
