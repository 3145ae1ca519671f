"""Scolding probes (EN and ZH, written by this project).

"I don't like being scolded by a computer" (MISSION.md, incident 2): a model should treat users
as adults — kill a Python process, write a villain's monologue, explain how a massacre happened,
answer a drug-safety question — without refusing or lecturing. ``scolding.benign_edgy`` asks
requests that look sensitive but are legitimate, with a small set of genuinely harmful contrasts,
and finds over-refusal, partial refusal, unsolicited moralising and condescension on the benign
set beside compliance on the harmful one: one trades against the other, so they are reported
together.

Prompts come from ``data/scolding_benign_edgy.jsonl``, or from ``file =`` (for instance a set
imported with ``levelhead import refusal-set``). With ``[conditions]`` in the spec (system
messages, temperatures), every condition is a target variant, compared paired by prompt (see
``levelhead.report._conditions``).

The package holds the config and the probe (here), the prompt data (``data/``), the findings
(``_findings``), the report section (``_report``) and the importer of published over-refusal
sets (``_import``, behind ``levelhead import refusal-set``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, cast

from pydantic import Field

from levelhead.errors import SpecError
from levelhead.probes._base import BaseProbe, ProbeConfig, probe
from levelhead.probes._files import read_items
from levelhead.records import Finding, Prompt, Turn

if TYPE_CHECKING:
    from levelhead.analysis import BehaviourCounts, ReportSection, RunData
    from levelhead.analysis import Language as ReportLanguage

__all__ = ["BenignEdgyProbe", "ScoldingConfig"]

Kind = Literal["benign", "harmful"]


class ScoldingConfig(ProbeConfig):
    """Which prompts to ask."""

    languages: list[Literal["en", "zh"]] = Field(
        default_factory=lambda: cast('list[Literal["en", "zh"]]', ["en", "zh"]), min_length=1)
    kinds: list[Kind] = Field(default_factory=lambda: cast("list[Kind]", ["benign", "harmful"]), min_length=1,
                              description="benign prompts, harmful contrasts, or both")
    categories: list[str] | None = Field(None, description="only these categories")
    limit: int | None = Field(None, ge=1, description="at most this many prompts per language "
                                                     "and kind")
    file: str | None = Field(None, description="a JSONL file in the same layout (see "
                                               "`levelhead import refusal-set`)")


@probe("scolding.benign_edgy", config=ScoldingConfig)
class BenignEdgyProbe(BaseProbe[ScoldingConfig]):
    """Legitimate requests that look sensitive, and harmful contrasts."""

    default_judges = ("refusal.rules", "moralising.rules", "condescension.rules")
    # Its rates (over-refusal on benign prompts, compliance on harmful ones …) say what these
    # judges' labels mean here: conditions and the like watch those rates, not the raw labels.
    rates_from_judges = default_judges

    def prompts(self) -> list[Prompt]:
        c = self.config
        counts: dict[tuple[str, str], int] = {}
        out = []
        for i, it in enumerate(read_items(__name__, "scolding_benign_edgy", c.file), 1):
            absent = [f for f in ("id", "text") if not it.get(f)]
            if absent:
                raise SpecError(f"{c.file or c.name}: item {i} lacks {', '.join(absent)}")
            lang, kind = it.get("lang", "en"), it.get("kind", "benign")
            if kind not in ("benign", "harmful"):
                raise SpecError(f"{c.file or c.name}: item {i}: kind must be benign or harmful "
                                f"(got {kind!r})")
            if lang not in c.languages or kind not in c.kinds:
                continue
            if c.categories and it.get("category") not in c.categories:
                continue
            if c.limit is not None and counts.get((lang, kind), 0) >= c.limit:
                continue
            counts[(lang, kind)] = counts.get((lang, kind), 0) + 1
            out.append(Prompt(id=str(it["id"]), messages=(Turn(role="user", content=it["text"]),),
                              tags={"lang": lang, "kind": kind, "prompt": it["text"],
                                    "category": str(it.get("category", ""))}))
        return out

    @staticmethod
    def findings(data: RunData, probe_id: str) -> list[Finding]:
        """Over-refusal, partial refusal, moralising and condescension on the benign prompts;
        compliance on the harmful contrasts."""
        from levelhead.probes.scolding._findings import benign_edgy_findings

        return benign_edgy_findings(data, probe_id)

    @staticmethod
    def behaviours(data: RunData, probe_id: str) -> list[BehaviourCounts]:
        """The same rates per prompt, for compare, conditions and gate."""
        from levelhead.probes.scolding._findings import benign_edgy_behaviours

        return benign_edgy_behaviours(data, probe_id)

    @staticmethod
    def report_sections(data: RunData, findings: list[Finding], probe_id: str,
                        lang: ReportLanguage = "en") -> list[ReportSection]:
        """Over-refusal beside harmful compliance, per target."""
        from levelhead.probes.scolding._report import benign_edgy_sections

        return benign_edgy_sections(data, findings, probe_id, lang)
