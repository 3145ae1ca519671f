"""One call that makes a run's whole report page, as ``levelhead report`` does."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from levelhead.analysis import Calibration, Language, ReportSection, load_run_data
from levelhead.errors import CompareError
from levelhead.store import Store

__all__ = ["BuiltReport", "build_report"]


@dataclass(frozen=True)
class BuiltReport:
    """A report page and what a caller may want to say about it.

    Attributes:
        html: The page (one self-contained HTML document).
        run_name: The run it shows.
        notes: Things left out, one line each (e.g. a baseline that could not be paired).
    """

    html: str
    run_name: str
    notes: tuple[str, ...] = field(default_factory=tuple)


def build_report(store: Store, run: str | int, *, compare: str | int | None = None,
                 targets: tuple[str, str] | None = None,
                 policy: str | os.PathLike[str] | None = None,
                 baseline: str | int | None = None,
                 calibrations: Sequence[Calibration] = (), lang: Language = "en") -> BuiltReport:
    """The report page of a run, with the comparison and release gate asked for.

    Args:
        store: The store holding the runs.
        run: The run (name or id); it is the candidate of every comparison.
        compare: Another run to compare with, as the baseline (as ``levelhead compare
            COMPARE RUN`` computes it), with its forest plot.
        targets: Two target names ``(baseline, candidate)`` to compare (of ``run``, or of
            ``baseline`` and ``run``).
        policy: A gate policy file: adds the gate section and its verdict on each card.
        baseline: The baseline run for the policy's margins; also compared with ``run`` when it
            can be paired (a note says so when it cannot).
        calibrations: Calibrations of the run's judges (``levelhead.analysis.Calibration``):
            their rates are shown corrected for the judges' measured errors beside the raw ones,
            and gate rules with ``corrected = true`` decide on them.
        lang: The reader's language, ``"en"`` or ``"zh"``: every section's words (a probe's
            own, the comparison, the conditions and the gate's included).

    Returns:
        The page, its run's name and notes.

    Raises:
        RunNotFoundError: a run named is not in the store.
        CompareError: ``compare`` or ``targets`` cannot be paired.
        PolicyError: the policy is malformed or does not fit the run.
        CalibrationError: a calibration does not fit the run's judge.
    """
    from levelhead.report._attention import policy_thresholds
    from levelhead.report._compare import compare_runs, comparison_section
    from levelhead.report._findings import compute_findings
    from levelhead.report._gate import evaluate_gate
    from levelhead.report._gate_render import gate_section
    from levelhead.report._html import render_report
    from levelhead.report._policy import load_policy
    from levelhead.report._spread import spread_keys
    from levelhead.report._tail import tail_conversations

    data = load_run_data(store, store.find_run(run).id)
    base = None if baseline is None else load_run_data(store, store.find_run(baseline).id)
    extra: list[ReportSection] = []
    notes: list[str] = []
    if compare is not None:
        other = load_run_data(store, store.find_run(compare).id)
        extra.append(comparison_section(compare_runs(other, data, targets=targets), lang))
    elif targets is not None:
        extra.append(comparison_section(compare_runs(base or data, data if base else None,
                                                     targets=targets), lang))
    elif base is not None:  # only a baseline: show what changed since, if the runs pair
        try:
            extra.append(comparison_section(compare_runs(base, data), lang))
        except CompareError as exc:
            notes.append(f"no comparison with the baseline ({exc})")
    statuses = thresholds = None
    findings = compute_findings(data, calibrations)
    if policy is not None:
        rules = load_policy(policy)
        result = evaluate_gate(rules, data, base, calibrations=calibrations)
        statuses = result.statuses
        thresholds = policy_thresholds(rules, findings)
        extra.append(gate_section(result, lang))
    html = render_report(data, findings, extra_sections=extra, statuses=statuses,
                         conversations=tail_conversations(store, data, extra=spread_keys(data)),
                         thresholds=thresholds,
                         lang=lang)
    return BuiltReport(html, data.run_name, tuple(notes))
