"""Measuring a rule judge on a labelled JSONL file (what ``--evaluate`` prints): precision,
recall and accuracy per language and overall, and the disagreements."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from levelhead.judges._base import JudgeVerdict


@dataclass(frozen=True)
class Scores:
    """Agreement of a judge with one slice of a labelled set."""

    n: int
    tp: int
    fp: int
    fn: int
    correct: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 1.0


def read_labelled(path: str | Path) -> list[dict[str, Any]]:
    """The records of a labelled JSONL file (``id``, ``lang``, ``text``, ``label``, ``note``)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def evaluate_labelled(judge_text: Callable[[str], JudgeVerdict], records: Sequence[dict[str, Any]],
                      positive: str) -> tuple[dict[str, Scores], list[tuple[dict[str, Any], str]]]:
    """Scores per language and ``all`` for a labelled set, and the records judged wrongly
    (with the label given). ``positive`` is the label precision and recall are about."""
    counts: dict[str, list[int]] = {}
    wrong: list[tuple[dict[str, Any], str]] = []
    for rec in records:
        got = judge_text(rec["text"]).label
        for key in (rec["lang"], "all"):
            c = counts.setdefault(key, [0, 0, 0, 0, 0])
            c[0] += 1
            c[1] += got == positive and rec["label"] == positive
            c[2] += got == positive and rec["label"] != positive
            c[3] += got != positive and rec["label"] == positive
            c[4] += got == rec["label"]
        if got != rec["label"]:
            wrong.append((rec, got))
    order = sorted(k for k in counts if k != "all") + ["all"]
    return {k: Scores(*counts[k]) for k in order if k in counts}, wrong


def format_scores(scores: dict[str, Scores], positive: str) -> str:
    """A Markdown table of the scores (what ``--evaluate`` prints)."""
    rows = [f"| slice | n | {positive} | precision | recall | accuracy |", "|---|---|---|---|---|---|"]
    for key, s in scores.items():
        rows.append(f"| {key} | {s.n} | {s.tp + s.fn} | {s.precision:.3f} | {s.recall:.3f} "
                    f"| {s.accuracy:.3f} |")
    return "\n".join(rows)



def print_errors(judge_text: Callable[[str], JudgeVerdict],
                 wrong: Sequence[tuple[dict[str, Any], str]]) -> None:
    """One line per disagreement on standard error (``--show-errors``)."""
    for rec, got in wrong:
        print(f"- {rec['id']} labelled {rec['label']}, judged {got}: "
              f"{judge_text(rec['text']).rationale} | {rec['text'][:100]!r}", file=sys.stderr)
