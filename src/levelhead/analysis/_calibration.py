"""A judge's calibration: how often it agrees with human gold labels, label by label, and the
corrected rates that follow from it.

``levelhead judge eval --save-calibration FILE`` measures a judge on a gold JSONL file and writes
a :class:`Calibration`; ``levelhead findings / report / gate --calibration FILE`` read it back and
give every ``rate:<judge>`` finding of that judge a corrected estimate
(:func:`corrected_estimate`, Rogan-Gladen with an interval that carries the calibration's own
uncertainty: ``levelhead.stats.corrected_rate``). A calibration applies only to the verdicts it
measured: the same judge, version and settings (:func:`match_calibrations` refuses the rest,
naming both sides).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from levelhead.errors import CalibrationError
from levelhead.records import CorrectedEstimate

if TYPE_CHECKING:
    from levelhead.analysis._counting import Counts
    from levelhead.analysis._data import RunData

__all__ = ["FORMAT", "FORMAT_VERSION", "Calibration", "LabelCounts", "corrected_estimate",
           "load_calibrations", "match_calibrations"]

FORMAT = "levelhead-calibration"
FORMAT_VERSION = 1
_COUNTS = ("tp", "fn", "tn", "fp")
_FIELDS = ("judge", "judge_version", "judge_args", "source", "created_at")


def _whole(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name}: must be a whole number >= 0 (got {value!r})")
    return value


@dataclass(frozen=True)
class LabelCounts:
    """One label against the rest, the judge's verdict against the human gold label.

    Attributes:
        tp: Gold replies with the label that the judge gave it.
        fn: Gold replies with the label that the judge did not give it.
        tn: Gold replies without the label that the judge did not give it.
        fp: Gold replies without the label that the judge gave it.
    """

    tp: int
    fn: int
    tn: int
    fp: int

    def __post_init__(self) -> None:
        for name in _COUNTS:
            _whole(name, getattr(self, name))

    @property
    def positives(self) -> int:
        """Gold replies with the label: ``tp + fn``."""
        return self.tp + self.fn

    @property
    def negatives(self) -> int:
        """Gold replies without it: ``tn + fp``."""
        return self.tn + self.fp

    @property
    def sensitivity(self) -> float:
        """``tp / (tp + fn)``: the share of gold replies with the label that the judge finds;
        NaN without any."""
        return self.tp / self.positives if self.positives else math.nan

    @property
    def specificity(self) -> float:
        """``tn / (tn + fp)``: the share of gold replies without the label that the judge leaves
        alone; NaN without any."""
        return self.tn / self.negatives if self.negatives else math.nan


@dataclass(frozen=True)
class Calibration:
    """A judge measured against human gold labels, label by label.

    Attributes:
        judge: The judge's registered name, e.g. ``"refusal.rules"``.
        judge_version: The judge's ``version``.
        judge_args: Canonical JSON of its settings, as ``levelhead.judges.judge_identity``
            returns it (the store keys verdicts on the same string).
        source: What it was measured on, e.g. ``"gold.jsonl (split report, 150 items)"``.
        labels: Every label the judge gives -> its counts against the rest.
        created_at: When it was measured (ISO-8601, UTC).
    """

    judge: str
    judge_version: str
    judge_args: str
    source: str
    labels: dict[str, LabelCounts]
    created_at: str

    def describe(self) -> str:
        """``"abuse.lexicon 1.0 calibration (gold.jsonl, 2026-01-02T03:04:05Z)"``, for messages."""
        return f"{self.judge} {self.judge_version} calibration ({self.source}, {self.created_at})"

    def settings(self) -> dict[str, Any]:
        """``judge_args`` parsed."""
        value = json.loads(self.judge_args)
        return value if isinstance(value, dict) else {}

    def to_json(self) -> dict[str, Any]:
        """The file's content: ``{"format": "levelhead-calibration", "version": 1, ...}``."""
        return {"format": FORMAT, "version": FORMAT_VERSION, "judge": self.judge,
                "judge_version": self.judge_version, "judge_args": self.judge_args,
                "source": self.source, "created_at": self.created_at,
                "labels": {label: {name: getattr(c, name) for name in _COUNTS}
                           for label, c in sorted(self.labels.items())}}

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the calibration as JSON (UTF-8) to ``path``."""
        Path(path).write_text(json.dumps(self.to_json(), ensure_ascii=False, indent=1) + "\n",
                              encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Calibration:
        """Read a calibration file.

        Raises:
            CalibrationError: one line naming the file (and the field): no such file, not JSON,
                not a calibration, a format version this levelhead cannot read, a missing or
                mistyped field, a negative count.
        """
        where = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CalibrationError(f"{where}: no such calibration file (`levelhead judge eval "
                                   f"--save-calibration FILE` writes one)") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CalibrationError(f"{where}: cannot read ({exc})") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CalibrationError(f"{where}: not valid JSON: {exc}") from None
        return cls.from_json(data, where)

    @classmethod
    def from_json(cls, data: Any, where: str = "calibration") -> Calibration:
        """A calibration from its parsed JSON (see :meth:`load`); ``where`` names it in errors."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, dict) else None
            raise CalibrationError(f"{where}: not a levelhead calibration file (format "
                                   f"{found!r}, expected {FORMAT!r})")
        if data.get("version") != FORMAT_VERSION:
            raise CalibrationError(f"{where}: version: calibration format {data.get('version')!r} "
                                   f"cannot be read by this levelhead (it reads version "
                                   f"{FORMAT_VERSION}); upgrade levelhead or measure the judge "
                                   f"again")
        unknown = sorted(set(data) - {"format", "version", "labels", *_FIELDS})
        if unknown:
            raise CalibrationError(f"{where}: {unknown[0]}: unknown field")
        values: dict[str, str] = {}
        for name in _FIELDS:
            value = data.get(name)
            if not isinstance(value, str) or (not value and name != "source"):
                raise CalibrationError(f"{where}: {name}: "
                                       + ("required field is missing" if value is None else
                                          f"expected a non-empty string (got {value!r})"))
            values[name] = value
        try:
            args = json.loads(values["judge_args"])
        except json.JSONDecodeError:
            args = None
        if not isinstance(args, dict):
            raise CalibrationError(f"{where}: judge_args: expected the judge's settings as a JSON "
                                   f"object in a string (got {values['judge_args'][:80]!r})")
        labels = data.get("labels")
        if not isinstance(labels, dict) or not labels:
            raise CalibrationError(f"{where}: labels: expected an object of label -> "
                                   f"{{tp, fn, tn, fp}} counts, one entry or more")
        parsed: dict[str, LabelCounts] = {}
        for label, counts in labels.items():
            if not isinstance(counts, dict) or set(counts) != set(_COUNTS):
                raise CalibrationError(f"{where}: labels.{label}: expected exactly the counts "
                                       f"tp, fn, tn, fp (got {counts!r})")
            try:
                parsed[label] = LabelCounts(**{name: counts[name] for name in _COUNTS})
            except ValueError as exc:
                raise CalibrationError(f"{where}: labels.{label}.{exc}") from None
        return cls(values["judge"], values["judge_version"], values["judge_args"],
                   values["source"], parsed, values["created_at"])


def load_calibrations(paths: Iterable[str | os.PathLike[str]]) -> list[Calibration]:
    """Every calibration file of ``paths``, in order (see :meth:`Calibration.load`)."""
    return [Calibration.load(path) for path in paths]


def match_calibrations(data: RunData, calibrations: Sequence[Calibration]
                       ) -> dict[str, Calibration]:
    """Which judge of the run each calibration applies to: judge identity (as the findings
    name it, ``"llm.rubric#2"``) -> its calibration.

    A calibration applies to the verdicts of a judge with its name, version and settings.

    Raises:
        CalibrationError: a calibration fits no judge of the run (none of that name; another
            version; other settings — naming both), or two calibrations fit one judge.
    """
    out: dict[str, Calibration] = {}
    for cal in calibrations:
        named = {identity: version for identity, (name, version) in data.judge_versions.items()
                 if name == cal.judge}
        if not named:
            judges = sorted({name for name, _ in data.judge_versions.values()})
            raise CalibrationError(f"the {cal.describe()} is for a judge that gave no verdict in "
                                   f"run '{data.run_name}' (its judges: "
                                   f"{', '.join(judges) or 'none'})")
        versions = {i: v for i, v in named.items() if v == cal.judge_version}
        if not versions:
            shown = ", ".join(sorted(set(named.values())))
            raise CalibrationError(f"the {cal.describe()} measured version {cal.judge_version}, "
                                   f"but run '{data.run_name}' was judged by {cal.judge} version "
                                   f"{shown}: measure that version, or judge the run again")
        wanted = cal.settings()
        fitting = [i for i in versions if data.judge_args.get(i, {}) == wanted]
        if not fitting:
            theirs = " / ".join(json.dumps(data.judge_args.get(i, {}), sort_keys=True,
                                           ensure_ascii=False) for i in versions)
            raise CalibrationError(f"the {cal.describe()} measured {cal.judge} with settings "
                                   f"{cal.judge_args}, but run '{data.run_name}' judged with "
                                   f"{theirs}: a calibration applies only to the settings it "
                                   f"measured")
        for identity in fitting:
            if identity in out:
                raise CalibrationError(f"two calibrations for judge {identity} of run "
                                       f"'{data.run_name}': the {out[identity].describe()} and "
                                       f"the {cal.describe()}; give one")
            out[identity] = cal
    return out


def corrected_estimate(counts: Counts, label: str, calibration: Calibration,
                       confidence: float = 0.95) -> CorrectedEstimate:
    """The corrected rate of ``label`` from its per-prompt counts and the judge's calibration
    (``levelhead.stats.corrected_rate``, seeded, so a finding is the same every time)."""
    from levelhead.stats import corrected_rate

    source = calibration.source
    measured = calibration.labels.get(label)
    if measured is None:
        return CorrectedEstimate(
            confidence=confidence, method="none", informative=False, calibration=source,
            calibrated_at=calibration.created_at,
            note=f"uninformative: the calibration has no counts for the label '{label}' "
                 f"(it has {', '.join(sorted(calibration.labels))})")
    _, k, n = counts.lists()
    r = corrected_rate(k, n, tp=measured.tp, fn=measured.fn, tn=measured.tn, fp=measured.fp,
                       confidence=confidence)
    return CorrectedEstimate(
        estimate=r.estimate, ci_low=r.ci_low, ci_high=r.ci_high, confidence=r.confidence,
        method=r.method, informative=r.informative,
        sensitivity=_finite(r.sensitivity), sensitivity_low=r.sensitivity_interval.low,
        sensitivity_high=r.sensitivity_interval.high, specificity=_finite(r.specificity),
        specificity_low=r.specificity_interval.low, specificity_high=r.specificity_interval.high,
        positives=r.positives, negatives=r.negatives, clipped=r.clipped, chance=r.chance,
        calibration_share=r.calibration_share, calibration=source,
        calibrated_at=calibration.created_at, note=r.note)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None

