"""Behaviours: the rates that compare and gate work on, kept as per-prompt counts.

A behaviour is one label of one judge on one probe (``metric="rate:abuse.lexicon"``,
``group="abusive"``), exactly as the findings name it, so a gate rule written against a finding
finds its counts here. Counts stay per prompt because every comparison is paired by prompt and
every interval is clustered by prompt. A probe adds rates of its own (a flip rate, a survival)
through its ``behaviours(data, probe_id)`` hook.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from levelhead.analysis import (
    BehaviourCounts,
    RunData,
    SampleView,
    count_labels,
    judge_bad_labels,
    judge_labels,
)
from levelhead.probes import registry as probe_registry

__all__ = ["behaviour_counts"]


def _counts_for_judge(target: str, probe: str, judge: str, samples: list[SampleView],
                      verdicts: Mapping[Any, str], labels_known: tuple[str, ...]) -> list[BehaviourCounts]:
    bad = judge_bad_labels(judge)
    # A target with nothing judged keeps its behaviours, empty, with the errors and missing
    # verdicts that explain why: a gate must say "cannot decide" there, never skip the target.
    return [BehaviourCounts.of(target, probe, f"rate:{judge}", label, counts,
                               None if bad is None else label in bad)
            for label, counts in count_labels(samples, verdicts, labels_known).items()]


def behaviour_counts(data: RunData) -> list[BehaviourCounts]:
    """Every behaviour of every target and probe of a run: each judge's labels (rates that
    are 0 of n included, since a rare behaviour's finding is its bound), then each probe's own."""
    by_probe: dict[str, dict[str, list[SampleView]]] = defaultdict(lambda: defaultdict(list))
    for s in data.samples:
        by_probe[s.probe][s.target].append(s)
    # Which probes each judge judged (on any target): a judge that never saw a probe has no
    # behaviours there.
    judged: dict[str, set[str]] = {j: {key[1] for key in v} for j, v in data.verdicts.items()}
    out: list[BehaviourCounts] = []
    for probe_id, per_target in by_probe.items():
        for target, samples in per_target.items():
            for judge, verdicts in sorted(data.verdicts.items()):
                if probe_id not in judged[judge]:
                    continue
                labels = judge_labels(judge) or tuple(
                    str(x) for x in data.judge_args.get(judge, {}).get("labels", ()) or ())
                out += _counts_for_judge(target, probe_id, judge, samples, verdicts, labels)
        name = data.probe_names.get(probe_id, probe_id)
        if name in probe_registry:
            out += probe_registry.get(name).factory.behaviours(data, probe_id)
    return out
