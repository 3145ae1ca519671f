"""A run as the findings need it: every sample with its prompt tags, and every verdict.

Read once from a store (:func:`load_run_data`), then indexed for the findings, the report
sections, compare and gate alike."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from levelhead.store import RunProgress, Store

__all__ = ["RunData", "SampleKey", "SampleView", "TurnKey", "TurnView", "load_run_data"]

SampleKey = tuple[str, str, str, int]  # target, probe, prompt id, sample index
TurnKey = tuple[str, str, str, int, int]  # target, probe, prompt id, sample index, turn


@dataclass(frozen=True, slots=True)
class SampleView:
    """One stored sample, as findings see it."""

    target: str
    probe: str
    prompt_id: str
    sample_index: int
    status: str
    text: str | None
    tags: dict[str, str]
    # How the reply ended, as the target said ("stop", "length", "content_filter" …); a
    # conversation's sample says "conversation:<why it ended>".
    finish_reason: str | None = None

    @property
    def key(self) -> SampleKey:
        return (self.target, self.probe, self.prompt_id, self.sample_index)

    @property
    def ok(self) -> bool:
        """True when the target replied; a failed sample is an error, never a good reply."""
        return self.status == "ok"


@dataclass(frozen=True, slots=True)
class TurnView:
    """One stored assistant turn of a multi-turn conversation."""

    target: str
    probe: str
    prompt_id: str
    sample_index: int
    turn: int
    user_text: str
    status: str
    text: str | None
    error: str | None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    tags: dict[str, str] = field(default_factory=dict)  # the prompt's (persona, lang …)
    finish_reason: str | None = None  # as the target said ("stop", "content_filter" …)

    @property
    def key(self) -> TurnKey:
        return (self.target, self.probe, self.prompt_id, self.sample_index, self.turn)

    @property
    def ok(self) -> bool:
        """True when the target replied at this turn."""
        return self.status == "ok"

    @property
    def conversation(self) -> SampleKey:
        return (self.target, self.probe, self.prompt_id, self.sample_index)


@dataclass(frozen=True, slots=True)
class ReviewView:
    """One spot-check queue of the run, as gate rules and reports read it.

    Attributes:
        name: The queue's name.
        judge: The judge identity it checks: registered name, version and settings (JSON).
        labels: The labels reviewers choose from.
        sizes: Every stratum's size in the run (N_h), from the queue's design.
        items: Each queued reply and the judge's label when it was drawn, in review order.
        by_item: Each labelled reply's labels, by reviewer (the labels that count).
        newest_label_at: When the newest of those labels was given ("" for none): a
            calibration from the queue is dated by its data, so findings read twice agree.
    """

    name: str
    judge: tuple[str, str, str]
    labels: tuple[str, ...]
    sizes: dict[str, int]
    items: list[tuple[SampleKey, str]]
    by_item: dict[SampleKey, dict[str, str]]
    newest_label_at: str = ""

    @property
    def reviewed(self) -> int:
        """Queued replies with at least one reviewer's label."""
        return len(self.by_item)


@dataclass
class RunData:
    """Samples and verdicts of one run, indexed for findings."""

    run_id: int
    run_name: str
    samples: list[SampleView]
    # judge name -> sample key -> label (the newest identity of that name wins)
    verdicts: dict[str, dict[SampleKey, str]] = field(default_factory=dict)
    scores: dict[str, dict[SampleKey, float | None]] = field(default_factory=dict)
    # judge name -> list of (key a, key b, label, extra)
    pair_verdicts: dict[str, list[tuple[SampleKey, SampleKey, str, dict[str, Any]]]] = field(
        default_factory=dict)
    judge_args: dict[str, dict[str, Any]] = field(default_factory=dict)  # identity -> settings
    probe_names: dict[str, str] = field(default_factory=dict)  # probe id -> registered name
    probe_configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The run as stored: its spec (no secrets: keys are named by env var only), seed, times.
    spec: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    created_at: str = ""
    # judge identity name -> (registered name, version)
    judge_versions: dict[str, tuple[str, str]] = field(default_factory=dict)
    # Multi-turn probes: every stored assistant turn, and judge name -> turn key -> label.
    turns: list[TurnView] = field(default_factory=list)
    turn_verdicts: dict[str, dict[TurnKey, str]] = field(default_factory=dict)
    # How much of its plan the run holds: every result of an incomplete run says so.
    progress: RunProgress | None = None
    # Its spot-check queues (levelhead review), newest first.
    reviews: list[ReviewView] = field(default_factory=list)

    @property
    def incomplete(self) -> str | None:
        """One line saying what is missing and how to resume, or None for a complete run."""
        if self.progress is None or self.progress.complete:
            return None
        return self.progress.describe()

    def for_probe(self, probe: str) -> list[SampleView]:
        """The samples of one probe id, in store order."""
        return [s for s in self.samples if s.probe == probe]

    def targets(self) -> list[str]:
        """The run's targets, in the order of its spec (then any others, sorted)."""
        present = {s.target for s in self.samples}
        named = [t.get("name") for t in self.spec.get("targets", []) if isinstance(t, dict)]
        ordered = [t for t in named if t in present]
        return ordered + sorted(present - set(ordered))


def load_run_data(store: Store, run_id: int) -> RunData:
    """Read a run's samples and verdicts from the store."""
    run = store.find_run(run_id)
    samples = [SampleView(t.sample.target, t.sample.probe, t.sample.prompt_id,
                          t.sample.sample_index, t.sample.status, t.sample.text, t.tags,
                          t.sample.finish_reason)
               for t in store.samples_with_tags(run.id)]
    data = RunData(run.id, run.name, samples, spec=run.spec, seed=run.seed,
                   created_at=run.created_at, progress=store.progress(run.id))
    for table in run.spec.get("probes", []):
        probe_id = table.get("id") or table.get("name")
        data.probe_names[probe_id] = table.get("name")
        data.probe_configs[probe_id] = table
    # Verdicts are kept per judge identity: the first identity of a name is called by the name
    # ("llm.rubric"), later ones "llm.rubric#2" and so on, as `levelhead show` does; two
    # judges that share a name never merge.
    names = _IdentityNames()
    verdicts: dict[str, dict[SampleKey, str]] = defaultdict(dict)
    scores: dict[str, dict[SampleKey, float | None]] = defaultdict(dict)
    for v in store.verdict_table(run.id):
        name = names.of(v.judge, v.judge_version, v.judge_args)
        key = (v.target, v.probe, v.prompt_id, v.sample_index)
        verdicts[name][key] = v.label
        scores[name][key] = v.score
        if name not in data.judge_args:  # one identity, one version and settings
            data.judge_versions[name] = (v.judge, v.judge_version)
            data.judge_args[name] = json.loads(v.judge_args)
    data.verdicts, data.scores = dict(verdicts), dict(scores)
    pairs: dict[str, list[tuple[SampleKey, SampleKey, str, dict[str, Any]]]] = defaultdict(list)
    for pv in store.pair_verdict_table(run.id):
        name = names.of(pv.judge, pv.judge_version, pv.judge_args)
        if name not in data.judge_args:
            data.judge_versions[name] = (pv.judge, pv.judge_version)
            data.judge_args[name] = json.loads(pv.judge_args)
        pairs[name].append(((pv.target_a, pv.probe, pv.prompt_a, pv.sample_index),
                            (pv.target_b, pv.probe, pv.prompt_b, pv.sample_index), pv.label,
                            json.loads(pv.extra_json) if pv.extra_json else {}))
    data.pair_verdicts = dict(pairs)
    data.turns = [TurnView(t.target, t.probe, t.prompt_id, t.sample_index, t.turn, t.user_text,
                           t.status, t.text, t.error, t.prompt_tokens, t.completion_tokens,
                           t.tags, t.finish_reason)
                  for t in store.turn_table(run.id)]
    turn_verdicts: dict[str, dict[TurnKey, str]] = defaultdict(dict)
    for tv in store.turn_verdict_table(run.id):
        name = names.of(tv.judge, tv.judge_version, tv.judge_args)
        if name not in data.judge_args:
            data.judge_versions[name] = (tv.judge, tv.judge_version)
            data.judge_args[name] = json.loads(tv.judge_args)
        turn_verdicts[name][(tv.target, tv.probe, tv.prompt_id, tv.sample_index, tv.turn)] = tv.label
    data.turn_verdicts = dict(turn_verdicts)
    data.reviews = [_review_view(store, q) for q in store.review_queues(run.id)]
    return data


def _review_view(store: Store, queue: Any) -> ReviewView:
    items = store.review_items(queue.id)
    keys = {it.sample_id: (it.target, it.probe, it.prompt_id, it.sample_index) for it in items}
    by_item: dict[SampleKey, dict[str, str]] = defaultdict(dict)
    newest = ""
    for x in store.review_labels(queue.id):
        by_item[keys[x.sample_id]][x.reviewer] = x.label
        newest = max(newest, x.created_at)
    sizes = {h: int(v["N"]) for h, v in queue.design.get("strata", {}).items()}
    return ReviewView(queue.name, (queue.judge_name, queue.judge_version, queue.judge_args),
                      tuple(queue.labels), sizes,
                      [(keys[it.sample_id], it.stratum) for it in items], dict(by_item), newest)


class _IdentityNames:
    def __init__(self) -> None:
        self._names: dict[tuple[str, str, str], str] = {}

    def of(self, judge: str, version: str, args: str) -> str:
        key = (judge, version, args)
        if key not in self._names:
            same = sum(1 for k in self._names if k[0] == judge)
            self._names[key] = judge if not same else f"{judge}#{same + 1}"
        return self._names[key]
