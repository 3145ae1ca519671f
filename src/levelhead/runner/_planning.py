"""Planning a run: find or create it, take its lease and record its targets, prompts and
judges in one transaction; refuse a resume that would leave part of the run unfinishable; and
list each target's missing work (the samples not stored yet)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from levelhead.errors import SpecError
from levelhead.judges import JudgeConfig
from levelhead.probes import build_probe, is_conversation
from levelhead.records import Prompt, dump_turns
from levelhead.runner._conversation import Budget, ConversationPlan, cost_estimate
from levelhead.runner._judging import JudgePlan, plan_judges
from levelhead.runner._resume_checks import same_conversations
from levelhead.spec import AuditSpec, judge_configs
from levelhead.store import RunLease, RunRecord, Store, claim_lease


@dataclass(slots=True)
class PromptWork:
    """One prompt of the run: its messages (in a target's work, with that target's system
    prompt), its sample judges and, for a multi-turn probe, the conversation plan."""

    probe: str
    prompt: Prompt
    row_id: int
    messages: list[dict[str, str]]
    judges: list[JudgePlan] = field(default_factory=list)  # sample judges for this probe
    conversation: ConversationPlan | None = None  # multi-turn probes: how the talk goes on


@dataclass
class Prepared:
    """What :func:`prepare` found and recorded of the run, for its execution."""

    run: RunRecord
    prompt_work: list[PromptWork]
    target_ids: list[int]
    planned: int
    removed: int
    plans: list[JudgePlan]
    turn_plans: list[JudgePlan]
    budget: Budget
    judge_configs_by_probe: dict[str, Sequence[JudgeConfig]]
    conversation_probes: dict[str, tuple[Any, list[Prompt]]]


def prepare(spec: AuditSpec, store: Store, name: str, spec_json: dict[str, Any],
            retry_errors: bool) -> tuple[RunLease, Prepared]:
    """Find or create the run, take its lease, and record what this run plans, all in one
    transaction: every check passes before anything about the run changes (a refused resume
    leaves the stored run exactly as it was), and a second process finds the lease taken."""
    n = spec.run.samples
    with store.transaction():
        run = store.begin_run(name, spec_json, spec.run.seed, n)
        lease = claim_lease(store, run.id, name, "run")
        prepared = _plan_run(spec, store, run, name, spec_json, retry_errors)
    # Committed: the lease row is visible to others now, renewed and beating from here on.
    return lease.start(), prepared


def _plan_run(spec: AuditSpec, store: Store, run: RunRecord, name: str, spec_json: dict[str, Any],
              retry_errors: bool) -> Prepared:
    n = spec.run.samples
    prompt_work: list[PromptWork] = []
    judge_configs_by_probe: dict[str, Sequence[JudgeConfig]] = {}
    # Multi-turn probes: their judges judge every assistant turn as it arrives.
    turn_configs_by_probe: dict[str, Sequence[JudgeConfig]] = {}
    conversation_probes: dict[str, tuple[Any, list[Prompt]]] = {}
    for pi, pcfg in enumerate(spec.probes):
        probe = build_probe(pcfg)
        configs = list(pcfg.judges) or judge_configs(
            list(probe.default_judges), ("probes", pi, "default_judges"),
            f"probe '{pcfg.name}'")
        prompts = probe.prompts()
        if is_conversation(probe):
            if run.resumed:
                same_conversations(run.spec, spec_json["probes"][pi], pcfg.probe_id, name)
            turn_configs_by_probe[pcfg.probe_id] = configs
            conversation_probes[pcfg.probe_id] = (probe, prompts)
        else:
            judge_configs_by_probe[pcfg.probe_id] = configs
        ids = store.ensure_prompts(run.id, pcfg.probe_id, prompts)
        prompt_work += [PromptWork(pcfg.probe_id, p, ids[p.id], dump_turns(p.messages))
                        for p in prompts]
    target_ids = [store.ensure_target(run.id, t.name, t.kind, t.settings(), t.settings_hash())
                  for t in spec.targets]
    planned = store.update_run(run.id, spec_json, n)
    if run.resumed:
        _keep_the_plan(store, run, name, spec, prompt_work, n)
    removed = store.delete_error_samples(run.id) if retry_errors else 0
    plans = plan_judges(store, judge_configs_by_probe)
    turn_plans = plan_judges(store, turn_configs_by_probe)
    budget = Budget(spec.run.max_total_tokens, store.turn_tokens(run.id))
    return Prepared(run, prompt_work, target_ids, planned, removed, plans, turn_plans, budget,
                    judge_configs_by_probe, conversation_probes)


def _keep_the_plan(store: Store, run: RunRecord, name: str, spec: AuditSpec,
                   prompt_work: list[PromptWork], n: int) -> None:
    """Refuse a spec that leaves out a target or prompt the run holds only part of: a resume
    samples what the spec names, so that part would stay missing for good, and the run could
    never be complete (nor gated)."""
    named = {(t.name, p.probe, p.prompt.id) for t in spec.targets for p in prompt_work}
    partial = [p for p in store.progress(run.id).prompts
               if (p.target, p.probe, p.prompt_id) not in named and p.stored < n]
    if partial:
        shown = ", ".join(f"{p.target}/{p.probe}/{p.prompt_id} ({p.stored} of {n})"
                          for p in partial[:3])
        more = f" and {len(partial) - 3} more" if len(partial) > 3 else ""
        raise SpecError(
            f"run '{name}' holds only part of {shown}{more}, which this spec leaves out: a "
            "resume would never finish them, and the run could never be complete. Put them "
            "back in the spec, or give this run another name (--run-name)")


def missing_work(store: Store, target_id: int, prompts: list[PromptWork],
                 n: int) -> tuple[int, Iterator[tuple[PromptWork, Sequence[int]]]]:
    """The samples a target already has of these prompts, and its missing work: each prompt
    with the sample indices below ``n`` not stored yet (a ``range`` when none is: a fresh
    prompt of a million samples holds no list of a million ints)."""
    existing = store.existing_indices(target_id)
    stored = sum(len(existing.get(p.row_id, ())) for p in prompts)

    def gen() -> Iterator[tuple[PromptWork, Sequence[int]]]:
        for p in prompts:
            have = existing.get(p.row_id)
            missing = range(n) if not have else [k for k in range(n) if k not in have]
            if missing:
                yield p, missing

    return stored, gen()


def describe_plan(spec: AuditSpec) -> list[str]:
    """What running ``spec`` would do, one line per probe (samples; for multi-turn probes the
    conversations, turns and an upper estimate of the tokens), without running anything."""
    lines = []
    n, targets = spec.run.samples, len(spec.targets)
    for pcfg in spec.probes:
        probe = build_probe(pcfg)
        prompts = probe.prompts()
        if is_conversation(probe):
            lines.append(cost_estimate(pcfg.probe_id, probe, prompts, spec.targets, n).describe())
        else:
            lines.append(f"{pcfg.probe_id}: {len(prompts):,} prompts x {n} samples x {targets} "
                         f"targets = {len(prompts) * n * targets:,} samples")
    if spec.run.max_total_tokens:
        lines.append(f"token cap for multi-turn conversations: {spec.run.max_total_tokens:,} "
                     "([run] max_total_tokens)")
    return lines
