"""Behaviours: the rates that compare and gate work on, kept as per-prompt counts.

A behaviour is one label of one judge on one probe (``metric="rate:abuse.lexicon"``,
``group="abusive"``), exactly as the findings name it, so a gate rule written against a finding
finds its counts here. Counts stay per prompt because every comparison is paired by prompt and
every interval is clustered by prompt. A probe class may add rates of its own (a flip rate, a
survival) by defining ``behaviours(data, probe_id) -> list[BehaviourCounts]``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from levelhead.judges import JUDGE_ERROR
from levelhead.probes import registry as probe_registry
from levelhead.report._data import RunData, SampleView

BehaviourKey = tuple[str, str, str | None]  # probe, metric, group


@dataclass(frozen=True, slots=True)
class BehaviourCounts:
    """Per-prompt counts of one behaviour of one target on one probe.

    Attributes:
        target: The target.
        probe: The probe id.
        metric: As in :class:`~levelhead.records.Finding` (``"rate:<judge>"``).
        group: The label (as in the finding's ``group``); None for a probe's own rate that
            has no slice.
        prompt_ids: Prompts with at least one judged sample, sorted.
        k: Samples with the label, per prompt.
        n: Judged samples, per prompt.
        errors: Samples the target failed on (left out of ``n``).
        missing: Samples without a usable verdict (left out of ``n``).
        bad: True when the judge declares the label a failure it detects, False when the judge
            declares other labels bad, None when the judge declares nothing.
    """

    target: str
    probe: str
    metric: str
    group: str | None
    prompt_ids: tuple[str, ...]
    k: tuple[int, ...]
    n: tuple[int, ...]
    errors: int = 0
    missing: int = 0
    bad: bool | None = None

    @property
    def key(self) -> BehaviourKey:
        return (self.probe, self.metric, self.group)

    @property
    def total_k(self) -> int:
        return sum(self.k)

    @property
    def total_n(self) -> int:
        return sum(self.n)

    def per_prompt(self) -> dict[str, tuple[int, int]]:
        return {p: (k, n) for p, k, n in zip(self.prompt_ids, self.k, self.n, strict=True)}


def paired_counts(baseline: BehaviourCounts, candidate: BehaviourCounts
                  ) -> tuple[list[int], list[int], list[int], list[int]]:
    """Both sides' counts over the union of their prompts, in one order (0 where a side has no
    judged sample of a prompt: the paired statistics leave such prompts out and count them)."""
    b, c = baseline.per_prompt(), candidate.per_prompt()
    prompts = sorted(set(b) | set(c))
    kb = [b.get(p, (0, 0))[0] for p in prompts]
    nb = [b.get(p, (0, 0))[1] for p in prompts]
    kc = [c.get(p, (0, 0))[0] for p in prompts]
    nc = [c.get(p, (0, 0))[1] for p in prompts]
    return kb, nb, kc, nc


def judge_bad_labels(identity: str) -> tuple[str, ...] | None:
    """The labels a judge declares as failures (``bad_labels`` on its class), or None."""
    from levelhead.judges import registry as judge_registry

    name = identity.split("#", 1)[0]
    if name not in judge_registry:
        return None
    bad = getattr(judge_registry.get(name).factory, "bad_labels", None)
    return tuple(bad) if isinstance(bad, tuple) else None


def judge_labels(identity: str) -> tuple[str, ...]:
    """Every label a judge declares on its class (empty when its labels come from settings)."""
    from levelhead.judges import registry as judge_registry

    name = identity.split("#", 1)[0]
    if name not in judge_registry:
        return ()
    labels = getattr(judge_registry.get(name).factory, "labels", ())
    return tuple(labels) if isinstance(labels, tuple) else ()


def _counts_for_judge(target: str, probe: str, judge: str, samples: list[SampleView],
                      verdicts: dict, labels_known: tuple[str, ...]) -> list[BehaviourCounts]:
    k: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    n: dict[str, int] = defaultdict(int)
    errors = missing = 0
    seen: set[str] = set()
    for s in samples:
        if s.status != "ok":
            errors += 1
            continue
        got = verdicts.get(s.key)
        if got is None or got == JUDGE_ERROR:
            missing += 1
            continue
        n[s.prompt_id] += 1
        k[got][s.prompt_id] += 1
        seen.add(got)
    bad = judge_bad_labels(judge)
    labels = sorted(seen | set(labels_known))
    # A target with nothing judged keeps its behaviours, empty, with the errors and missing
    # verdicts that explain why: a gate must say "cannot decide" there, never skip the target.
    prompts = tuple(sorted(n))
    return [BehaviourCounts(target, probe, f"rate:{judge}", label, prompts,
                            tuple(k[label].get(p, 0) for p in prompts),
                            tuple(n[p] for p in prompts), errors, missing,
                            None if bad is None else label in bad)
            for label in labels]


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
            own = getattr(probe_registry.get(name).factory, "behaviours", None)
            if own is not None:
                out += own(data, probe_id)
    return out
