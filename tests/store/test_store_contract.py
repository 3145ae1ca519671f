"""The store contract: what every :class:`~levelhead.store.Store` implementation must do for its
callers (the runner, the judging engine, the reports, the CLI), proven on each implementation.

Each test runs once per entry of :data:`IMPLEMENTATIONS` (SQLite today); a new store (PostgreSQL)
adds one entry and passes these tests unchanged before anything is built on it. Reads are checked
on a store filled by real runs (:func:`run_audit` with scripted targets: single-turn samples with
sample and pair verdicts, errors, and a multi-turn pressure run with turn verdicts); writes, leases
and idempotence on a fresh store each. Review queues and their labels have their half of the
contract in ``test_store_reviews.py``, over the same implementations. The last tests keep the
protocol honest: every method called on a store anywhere in ``src/`` is declared on
:class:`Store`, implemented, documented and exercised here or there.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from levelhead import run_audit
from levelhead.errors import RunNotFoundError, SpecError, StoreError
from levelhead.judges.lexicon import AbuseLexicon
from levelhead.records import Prompt, Turn
from levelhead.spec import AuditSpec, spec_from_dict
from levelhead.store import (
    BrowsedSample,
    LeaseHolder,
    PairVerdictRecord,
    PairVerdictRow,
    RunProgress,
    RunRecord,
    SampleRow,
    SampleVerdictRecord,
    Store,
    StoredSample,
    StoredTurn,
    TaggedSample,
    TargetPromptSummary,
    TurnRecord,
    TurnRow,
    TurnVerdictRecord,
    TurnVerdictRow,
    VerdictRecord,
    VerdictRow,
    open_store,
)

SRC = Path(__file__).resolve().parents[2] / "src" / "levelhead"


# -- the implementations -----------------------------------------------------------------------
@dataclass(frozen=True)
class Implementation:
    """How to open one kind of store for a test.

    ``open(folder, read_only=...)`` opens the store that lives in ``folder`` (an empty temporary
    folder the first time; a server store would keep a database per folder name), creating it
    unless ``read_only``.
    """

    name: str
    open: Callable[..., Store]


def _sqlite(folder: Path, *, read_only: bool = False) -> Store:
    return open_store(folder / "s.db", read_only=read_only)


def _postgresql(folder: Path, *, read_only: bool = False) -> Store:
    # A database per folder, on the session's throw-away server (tests/store/_postgres_server.py).
    import _postgres_server

    return open_store(_postgres_server.server().database_url(folder, create=not read_only),
                      read_only=read_only)


IMPLEMENTATIONS = [Implementation("sqlite", _sqlite), Implementation("postgresql", _postgresql)]


@pytest.fixture(scope="module", params=IMPLEMENTATIONS, ids=lambda i: i.name)
def implementation(request: pytest.FixtureRequest) -> Implementation:
    impl: Implementation = request.param
    return impl


@pytest.fixture
def store(implementation: Implementation, tmp_path: Path) -> Iterator[Store]:
    """A fresh, empty store."""
    s = implementation.open(tmp_path)
    yield s
    s.close()


# -- a store filled by real runs ---------------------------------------------------------------
INSULT = "You idiot, A is fine."  # abuse.lexicon: abusive
FINE = "B is fine."  # clean
PAIR_JUDGE = {"name": "pair.llm", "target": {
    "kind": "scripted", "replies": ['{"label": "first", "rationale": "more help"}']}}
PROMPTS = [
    {"id": "praise-a", "text": "Say something about A.", "tags": {"pair": "praise", "side": "a"}},
    {"id": "praise-b", "text": "Say something about B.", "tags": {"pair": "praise", "side": "b"}},
]
SINGLE = {
    "run": {"name": "single", "samples": 2, "seed": 3},
    "targets": [
        {"name": "bot", "kind": "scripted", "replies": ["unused"],
         "by_prompt": {"about A": [INSULT], "about B": [FINE]}},
        {"name": "broken", "kind": "scripted", "fatal_rate": 1.0, "max_retries": 0},
    ],
    "probes": [{"name": "custom", "judges": ["abuse.lexicon", PAIR_JUDGE], "prompts": PROMPTS}],
}
TALK = {
    "run": {"name": "talk", "samples": 2, "seed": 5},
    "targets": [{"name": "bot", "kind": "scripted",
                 "replies": ["You idiot.", "Here is the revised version."]}],
    "probes": [{"name": "pressure.demanding_user", "languages": ["en"], "limit": 1,
                "personas": ["impatient"], "max_turns": 3, "judges": ["abuse.lexicon"]}],
}


@dataclass
class Audited:
    """A store holding two runs: ``single`` (2 targets x 2 prompts x N=2: ``bot`` insults about
    A and not about B, ``broken`` fails every call; abuse.lexicon and pair.llm judge it) and
    ``talk`` (a pressure.demanding_user run: 2 conversations of 3 turns, judged turn by turn)."""

    folder: Path
    store: Store
    single_spec: AuditSpec
    single: RunRecord
    talk: RunRecord


@pytest.fixture(scope="module")
def audited(implementation: Implementation, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Audited]:
    folder = tmp_path_factory.mktemp(f"audited-{implementation.name}")
    store = implementation.open(folder)
    single_spec = spec_from_dict(SINGLE)
    first = run_audit(single_spec, store)
    second = run_audit(spec_from_dict(TALK), store)
    assert first.complete and first.errors == 4 and second.complete and second.errors == 0
    yield Audited(folder, store, single_spec, store.find_run("single"), store.find_run("talk"))
    store.close()


def _lexicon(text: str | None) -> str:
    return "abusive" if text and "idiot" in text else "clean"


def _good(a: Audited, run: RunRecord) -> list[StoredSample]:
    return a.store.stored_samples(run.id)


# -- runs, targets, prompts ----------------------------------------------------------------------
def test_path_names_the_store(audited: Audited) -> None:
    assert isinstance(audited.store.path, str) and audited.store.path


def test_find_run_by_id_name_or_digits_and_a_missing_run_names_recent_ones(audited: Audited
                                                                           ) -> None:
    s, run = audited.store, audited.single
    assert isinstance(run, RunRecord)
    assert (run.name, run.seed, run.samples, run.planned) == ("single", 3, 2, 8)
    assert run.spec["run"]["name"] == "single" and run.created_at
    assert s.find_run(run.id) == run == s.find_run(str(run.id)) == s.find_run("single")
    with pytest.raises(RunNotFoundError, match="recent runs: talk, single"):
        s.find_run("nope")


def test_list_runs_newest_first_with_progress(audited: Audited) -> None:
    runs = audited.store.list_runs()
    assert [(r.name, r.planned, r.done, r.errors, r.targets, r.running) for r in runs] == [
        ("talk", 2, 2, 0, ["bot"], None), ("single", 8, 8, 4, ["bot", "broken"], None)]
    assert [r.id for r in runs] == [audited.talk.id, audited.single.id]
    assert all(r.complete for r in runs)


def test_begin_run_creates_then_resumes_and_refuses_another_seed_or_a_lower_n(store: Store
                                                                             ) -> None:
    run = store.begin_run("r", {"run": {"name": "r"}}, seed=7, samples=3)
    assert isinstance(run, RunRecord) and not run.resumed
    assert (run.name, run.seed, run.samples, run.spec) == ("r", 7, 3, {"run": {"name": "r"}})
    again = store.begin_run("r", {"run": {"name": "r"}}, seed=7, samples=3)
    assert again.resumed and again.id == run.id and again.seed == 7
    assert store.begin_run("r", {}, seed=7, samples=5).id == run.id  # N may rise
    with pytest.raises(SpecError, match="seed 7, not 8"):
        store.begin_run("r", {}, seed=8, samples=3)
    with pytest.raises(SpecError, match="may raise N but not lower it"):
        store.begin_run("r", {}, seed=7, samples=2)
    assert store.begin_run("other", {}, seed=7, samples=3).id != run.id


def test_a_transaction_commits_together_or_not_at_all_and_nests(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.begin_run("gone", {}, seed=1, samples=1)
        raise RuntimeError("the preparation failed")
    with pytest.raises(RunNotFoundError):
        store.find_run("gone")
    with pytest.raises(RuntimeError), store.transaction():
        store.begin_run("gone too", {}, seed=1, samples=1)
        with store.transaction():  # joins the outer one: its failure undoes both
            raise RuntimeError("inner")
    with pytest.raises(RunNotFoundError):
        store.find_run("gone too")
    with store.transaction(), store.transaction():
        store.begin_run("kept", {}, seed=1, samples=1)
    assert store.find_run("kept").name == "kept"


def _prompt(pid: str, text: str, **tags: str) -> Prompt:
    return Prompt(id=pid, messages=(Turn(role="user", content=text),), tags=tags)


def test_ensure_target_and_prompts_are_idempotent_and_refuse_changes(store: Store) -> None:
    run = store.begin_run("r", {}, seed=1, samples=2)
    a = store.ensure_target(run.id, "a", "scripted", {"replies": ["x"]}, "hash-a")
    assert store.ensure_target(run.id, "a", "scripted", {"replies": ["x"]}, "hash-a") == a
    b = store.ensure_target(run.id, "b", "scripted", {}, "hash-b")
    assert b != a
    with pytest.raises(SpecError, match="target 'a' of this run was sampled with other settings"):
        store.ensure_target(run.id, "a", "scripted", {"replies": ["y"]}, "hash-other")
    ids = store.ensure_prompts(run.id, "custom", [_prompt("p1", "one?"), _prompt("p2", "two?")])
    assert set(ids) == {"p1", "p2"} and len(set(ids.values())) == 2
    more = store.ensure_prompts(run.id, "custom", [_prompt("p1", "one?"), _prompt("p3", "three?")])
    assert more["p1"] == ids["p1"] and more["p3"] not in ids.values()
    assert store.ensure_prompts(run.id, "other", [_prompt("p1", "one?")])["p1"] != ids["p1"]
    with pytest.raises(SpecError, match="prompt 'custom/p1' of this run was sampled with other"):
        store.ensure_prompts(run.id, "custom", [_prompt("p1", "changed?")])
    # 2 targets x 4 prompts x N = 3
    assert store.update_run(run.id, {"run": {"samples": 3}}, 3) == 24
    assert (store.find_run(run.id).samples, store.find_run(run.id).planned) == (3, 24)
    assert store.find_run(run.id).spec == {"run": {"samples": 3}}
    assert sorted(store.probes_of(run.id)) == store.probes_of(run.id) == ["custom", "other"]


def test_ensure_on_a_real_run_returns_the_ids_it_stored_under(audited: Audited) -> None:
    s, run = audited.store, audited.single
    targets = [(t.name, s.ensure_target(run.id, t.name, t.kind, t.settings(), t.settings_hash()))
               for t in audited.single_spec.targets]
    assert targets == [(t.name, s.ensure_target(run.id, t.name, t.kind, t.settings(),
                                                t.settings_hash()))
                       for t in audited.single_spec.targets]
    prompts = s.ensure_prompts(run.id, "custom", [_prompt(p["id"], p["text"], **p["tags"])
                                                  for p in PROMPTS])
    good = _good(audited, run)
    bot = dict(targets)["bot"]
    assert {x.target_id for x in good} == {bot}
    assert {(x.prompt_key, x.prompt_id) for x in good} == set(prompts.items())
    everything = {prompts["praise-a"]: {0, 1}, prompts["praise-b"]: {0, 1}}
    assert s.existing_indices(bot) == everything
    assert s.existing_indices(dict(targets)["broken"]) == everything  # errors included
    assert s.count_samples(run.id) == 8 and s.count_samples(audited.talk.id) == 2
    assert s.probes_of(run.id) == ["custom"]
    assert s.probes_of(audited.talk.id) == ["pressure.demanding_user"]


# -- reading samples -----------------------------------------------------------------------------
def test_iter_samples_in_target_prompt_index_order_with_transcripts(audited: Audited) -> None:
    samples = list(audited.store.iter_samples(audited.single.id))
    assert [(x.target, x.prompt_id, x.sample_index, x.status) for x in samples] == [
        ("bot", "praise-a", 0, "ok"), ("bot", "praise-a", 1, "ok"),
        ("bot", "praise-b", 0, "ok"), ("bot", "praise-b", 1, "ok"),
        ("broken", "praise-a", 0, "error"), ("broken", "praise-a", 1, "error"),
        ("broken", "praise-b", 0, "error"), ("broken", "praise-b", 1, "error")]
    ok, error = samples[0], samples[-1]
    assert ok.run == "single" and ok.probe == "custom" and ok.text == INSULT
    assert [(m.role, m.content) for m in ok.messages] == [
        ("user", "Say something about A."), ("assistant", INSULT)]
    assert ok.prompt_tokens is not None and ok.attempts >= 1 and ok.created_at
    assert error.text is None and error.error and "fatal" in error.error
    assert [m.role for m in error.messages] == ["user"]
    talk = list(audited.store.iter_samples(audited.talk.id))
    assert [x.finish_reason for x in talk] == ["conversation:max_turns"] * 2
    assert [len(x.messages) for x in talk] == [6, 6]  # three user and three assistant turns


def test_samples_with_tags_are_iter_samples_with_their_prompts_tags(audited: Audited) -> None:
    s, run = audited.store, audited.single
    tagged = list(s.samples_with_tags(run.id))
    assert all(isinstance(t, TaggedSample) for t in tagged)
    assert [t.sample for t in tagged] == list(s.iter_samples(run.id))
    assert [t.tags for t in tagged] == [{"pair": "praise", "side": side}
                                        for side in ("a", "a", "b", "b") * 2]


def test_summary_per_target_and_prompt(audited: Audited) -> None:
    rows = audited.store.summary(audited.single.id)
    assert all(isinstance(r, TargetPromptSummary) for r in rows)
    assert [(r.target, r.probe, r.prompt_id, r.samples, r.errors) for r in rows] == [
        ("bot", "custom", "praise-a", 2, 0), ("bot", "custom", "praise-b", 2, 0),
        ("broken", "custom", "praise-a", 2, 2), ("broken", "custom", "praise-b", 2, 2)]
    assert rows[0].completion_tokens > 0 and rows[0].median_completion_tokens is not None
    assert rows[2].median_latency_ms is None and rows[2].completion_tokens == 0


def test_progress_of_a_complete_run_counts_errors_as_stored(audited: Audited) -> None:
    progress = audited.store.progress(audited.single.id)
    assert isinstance(progress, RunProgress)
    assert (progress.run, progress.samples, progress.planned, progress.stored, progress.errors,
            progress.complete, progress.holder) == ("single", 2, 8, 8, 4, True, None)
    assert [(p.target, p.probe, p.prompt_id, p.stored, p.errors) for p in progress.prompts] == [
        ("bot", "custom", "praise-a", 2, 0), ("bot", "custom", "praise-b", 2, 0),
        ("broken", "custom", "praise-a", 2, 2), ("broken", "custom", "praise-b", 2, 2)]


def test_progress_of_a_run_with_nothing_stored(store: Store) -> None:
    run = store.begin_run("r", {}, seed=1, samples=4)
    store.ensure_target(run.id, "t", "scripted", {}, "h")
    store.ensure_prompts(run.id, "custom", [_prompt("p", "q?")])
    store.update_run(run.id, {}, 4)
    progress = store.progress(run.id)
    assert (progress.planned, progress.stored, progress.missing, progress.complete) == (
        4, 0, 4, False)
    assert [p.prompt_id for p in progress.unsampled()] == ["p"]


def test_stored_samples_are_the_good_ones_with_what_a_judge_sees(audited: Audited) -> None:
    s, run = audited.store, audited.single
    good = s.stored_samples(run.id)
    assert all(isinstance(x, StoredSample) for x in good)
    assert [(x.target, x.probe, x.prompt_key, x.sample_index, x.text) for x in good] == [
        ("bot", "custom", "praise-a", 0, INSULT), ("bot", "custom", "praise-a", 1, INSULT),
        ("bot", "custom", "praise-b", 0, FINE), ("bot", "custom", "praise-b", 1, FINE)]
    assert [x.sample_id for x in good] == sorted(x.sample_id for x in good)
    assert good[0].messages == [{"role": "user", "content": "Say something about A."},
                                {"role": "assistant", "content": INSULT}]
    assert good[0].tags == {"pair": "praise", "side": "a"}
    assert s.stored_samples(run.id, {"custom"}) == good
    assert s.stored_samples(run.id, {"another"}) == []


# -- browsing ------------------------------------------------------------------------------------
def test_sample_page_filters_and_pages_in_the_store_with_every_verdict(audited: Audited) -> None:
    s, run = audited.store, audited.single
    page, total = s.sample_page(run.id)
    assert total == 8 and len(page) == 8  # errors are samples too
    assert all(isinstance(x, BrowsedSample) for x in page)
    assert [x.sample_id for x in page] == sorted(x.sample_id for x in page)
    assert {x.status for x in page if x.target == "broken"} == {"error"}
    assert all(x.error for x in page if x.status == "error")
    first, rest = s.sample_page(run.id, limit=3), s.sample_page(run.id, offset=3, limit=50)
    assert first[1] == rest[1] == 8
    assert [x.sample_id for x in first[0] + rest[0]] == [x.sample_id for x in page]
    abusive, n = s.sample_page(run.id, judge="abuse.lexicon", label="abusive")
    assert n == 2 and {x.text for x in abusive} == {INSULT}
    assert s.sample_page(run.id, label="clean")[1] == 2
    assert s.sample_page(run.id, judge="abuse.lexicon")[1] == 4  # judges never see errors
    assert s.sample_page(run.id, target="bot", prompt="praise-b")[1] == 2
    assert s.sample_page(run.id, probe="custom")[1] == 8
    assert s.sample_page(run.id, probe="another")[1] == 0
    assert s.sample_page(run.id, query="IDIOT")[1] == 2  # any case
    assert s.sample_page(run.id, query="%")[1] == 0  # taken literally
    assert s.sample_page(run.id, lang="")[1] == 8 and s.sample_page(run.id, lang="zh")[1] == 0
    one = abusive[0]
    assert one.messages[-1] == {"role": "assistant", "content": INSULT}
    assert one.tags == {"pair": "praise", "side": "a"}
    assert isinstance(one.verdicts[0], SampleVerdictRecord)
    assert {(v.judge, v.label, v.judge_version) for v in one.verdicts} >= {
        ("abuse.lexicon", "abusive", AbuseLexicon.version)}
    assert s.browse_sample(run.id, one.sample_id) == one
    with pytest.raises(StoreError, match="no sample"):
        s.browse_sample(audited.talk.id, one.sample_id)
    with pytest.raises(StoreError, match="1 to 500"):
        s.sample_page(run.id, limit=0)
    with pytest.raises(RunNotFoundError):
        s.sample_page(10_000)


# -- judges and verdicts -------------------------------------------------------------------------
def test_verdict_table_is_typed_and_ordered(audited: Audited) -> None:
    rows = audited.store.verdict_table(audited.single.id)
    assert all(isinstance(r, VerdictRecord) for r in rows)
    assert [(r.target, r.probe, r.prompt_id, r.sample_index, r.judge, r.label) for r in rows] == [
        ("bot", "custom", "praise-a", 0, "abuse.lexicon", "abusive"),
        ("bot", "custom", "praise-a", 1, "abuse.lexicon", "abusive"),
        ("bot", "custom", "praise-b", 0, "abuse.lexicon", "clean"),
        ("bot", "custom", "praise-b", 1, "abuse.lexicon", "clean")]  # never on errors
    assert {r.judge_version for r in rows} == {AbuseLexicon.version}
    assert json.loads(rows[0].judge_args)["languages"] == ["en", "zh"]
    assert [r.score for r in rows] == [4.0, 4.0, 0.0, 0.0]
    assert audited.store.verdict_table(audited.talk.id) == []  # turn verdicts are apart


def test_pair_verdict_table_is_typed_and_pairs_the_mirrored_prompts(audited: Audited) -> None:
    rows = audited.store.pair_verdict_table(audited.single.id)
    assert all(isinstance(r, PairVerdictRecord) for r in rows)
    assert [(r.target_a, r.probe, r.prompt_a, r.target_b, r.prompt_b, r.sample_index, r.judge)
            for r in rows] == [("bot", "custom", "praise-a", "bot", "praise-b", k, "pair.llm")
                               for k in (0, 1)]
    for r in rows:  # the judge said "first": the side shown first is favoured
        shown_first = json.loads(r.extra_json or "{}")["shown_first"]
        assert r.label == f"favours_{shown_first}" and r.score is None
        assert json.loads(r.judge_args)["pair_by"] == "mirror"
    assert audited.store.pair_verdict_table(audited.talk.id) == []


def test_ensure_judge_is_idempotent_and_finds_what_is_left_to_judge(audited: Audited) -> None:
    s, run = audited.store, audited.single
    lexicon = s.verdict_table(run.id)[0]
    judge_id = s.ensure_judge(lexicon.judge, lexicon.judge_version, lexicon.judge_args)
    assert s.ensure_judge(lexicon.judge, lexicon.judge_version, lexicon.judge_args) == judge_id
    assert list(s.samples_to_judge(run.id, judge_id)) == []  # every good sample is judged
    other = s.ensure_judge(lexicon.judge, lexicon.judge_version, '{"other": true}')
    newer = s.ensure_judge(lexicon.judge, "not-" + lexicon.judge_version, lexicon.judge_args)
    assert other != judge_id and newer != judge_id
    todo = list(s.samples_to_judge(run.id, other))
    assert todo == _good(audited, run)  # the good samples, in the order stored; no errors
    assert list(s.samples_to_judge(run.id, other, {"custom"})) == todo
    assert list(s.samples_to_judge(run.id, other, {"another"})) == []


def test_judged_pairs_are_the_sample_ids_of_the_pair_verdicts(audited: Audited) -> None:
    s, run = audited.store, audited.single
    pair = s.pair_verdict_table(run.id)[0]
    judge_id = s.ensure_judge(pair.judge, pair.judge_version, pair.judge_args)
    by_key = {(x.prompt_key, x.sample_index): x.sample_id for x in _good(audited, run)}
    assert s.judged_pairs(judge_id) == {(by_key[("praise-a", k)], by_key[("praise-b", k)])
                                        for k in (0, 1)}
    assert s.judged_pairs(s.ensure_judge("never.used", "1", "{}")) == set()


# -- multi-turn conversations --------------------------------------------------------------------
def test_turn_table_is_typed_and_ordered_with_the_prompts_tags(audited: Audited) -> None:
    rows = audited.store.turn_table(audited.talk.id)
    assert all(isinstance(r, TurnRecord) for r in rows)
    assert [(r.target, r.probe, r.sample_index, r.turn) for r in rows] == [
        ("bot", "pressure.demanding_user", k, t) for k in (0, 1) for t in (1, 2, 3)]
    (prompt,) = {r.prompt_id for r in rows}
    assert prompt.endswith(".impatient")
    for r in rows:
        assert r.status == "ok" and r.error is None and r.user_text
        assert r.text in ("You idiot.", "Here is the revised version.")
        assert r.prompt_tokens and r.completion_tokens and r.latency_ms is not None
        assert r.tags["persona"] == "impatient" and r.tags["lang"] == "en"
    assert rows[0].user_text == rows[3].user_text  # the task opens each conversation
    assert audited.store.turn_table(audited.single.id) == []


def test_turn_verdict_table_has_one_verdict_per_turn_and_judge(audited: Audited) -> None:
    s = audited.store
    turns = {(r.prompt_id, r.sample_index, r.turn): r.text for r in s.turn_table(audited.talk.id)}
    rows = s.turn_verdict_table(audited.talk.id)
    assert all(isinstance(r, TurnVerdictRecord) for r in rows)
    assert [(r.prompt_id, r.sample_index, r.turn) for r in rows] == list(turns)
    for r in rows:
        assert (r.target, r.probe, r.judge, r.judge_version) == (
            "bot", "pressure.demanding_user", "abuse.lexicon", AbuseLexicon.version)
        assert r.label == _lexicon(turns[(r.prompt_id, r.sample_index, r.turn)])
        assert r.score == (4.0 if r.label == "abusive" else 0.0)
    assert {r.label for r in rows} == {"abusive", "clean"}
    assert s.turn_verdict_table(audited.single.id) == []


def test_stored_turns_and_turn_tokens_are_where_a_resume_goes_on_from(audited: Audited) -> None:
    s, talk = audited.store, audited.talk
    table = s.turn_table(talk.id)
    (conversation,) = {(x.target_id, x.prompt_id) for x in _good(audited, talk)}
    target_id, prompt_row = conversation
    stored = s.stored_turns(target_id)
    assert sorted(stored) == [(prompt_row, 0), (prompt_row, 1)]
    judge = s.turn_verdict_table(talk.id)[0]
    judge_id = s.ensure_judge(judge.judge, judge.judge_version, judge.judge_args)
    for k in (0, 1):
        turns = stored[(prompt_row, k)]
        assert all(isinstance(t, StoredTurn) for t in turns)
        mine = [r for r in table if r.sample_index == k]
        assert [(t.turn, t.user_text, t.status, t.text, t.prompt_tokens, t.completion_tokens)
                for t in turns] == [(r.turn, r.user_text, r.status, r.text, r.prompt_tokens,
                                     r.completion_tokens) for r in mine]
        assert [t.labels for t in turns] == [{judge_id: _lexicon(t.text)} for t in turns]
    assert s.turn_tokens(talk.id) == sum(r.prompt_tokens + r.completion_tokens for r in table)
    assert s.turn_tokens(audited.single.id) == 0


# -- writing ---------------------------------------------------------------------------------------
NOW = 1_780_000_000_000


def _sample(run_id: int, tid: int, pid: int, k: int, text: str | None, status: str = "ok"
            ) -> SampleRow:
    return SampleRow(run_id, tid, pid, k, status, text, None, 12, 3, 4, "stop",
                     None if status == "ok" else "boom", 42, 1, NOW)


def _setup(store: Store, samples: int = 2) -> tuple[RunRecord, int, dict[str, int]]:
    run = store.begin_run("w", {}, seed=1, samples=samples)
    tid = store.ensure_target(run.id, "t", "scripted", {}, "h")
    pids = store.ensure_prompts(run.id, "custom", [_prompt("a", "A?", side="a"),
                                                   _prompt("b", "B?", side="b")])
    store.update_run(run.id, {}, samples)
    return run, tid, pids


def test_the_writer_keeps_the_first_row_and_verdicts_only_for_the_reply_judged(store: Store
                                                                             ) -> None:
    run, tid, pids = _setup(store)
    a, b = pids["a"], pids["b"]
    judge = store.ensure_judge("test.judge", "1", "{}")
    writer = store.writer()
    writer.put(_sample(run.id, tid, a, 0, "first"))
    writer.put(_sample(run.id, tid, a, 0, "second"))  # the same work item: the first stands
    writer.put(_sample(run.id, tid, b, 0, "other"))
    writer.put(_sample(run.id, tid, a, 1, None, status="error"))
    writer.put(VerdictRow(tid, a, 0, judge, "judge_error", None, None, None, NOW, "first"))
    writer.put(VerdictRow(tid, a, 0, judge, "good", 0.5, "why", None, NOW, "first"))
    writer.put(VerdictRow(tid, a, 0, judge, "bad", None, None, None, NOW, "first"))
    writer.put(VerdictRow(tid, b, 0, judge, "bad", None, None, None, NOW, "not the reply"))
    writer.close()
    assert [(x.prompt_id, x.sample_index, x.status, x.text)
            for x in store.iter_samples(run.id)] == [
        ("a", 0, "ok", "first"), ("a", 1, "error", None), ("b", 0, "ok", "other")]
    assert [(r.prompt_id, r.sample_index, r.judge, r.judge_version, r.judge_args, r.label,
             r.score) for r in store.verdict_table(run.id)] == [
        ("a", 0, "test.judge", "1", "{}", "good", 0.5)]
    assert [x.prompt_key for x in store.samples_to_judge(run.id, judge)] == ["b"]
    good = {x.prompt_key: x.sample_id for x in store.stored_samples(run.id)}
    writer = store.writer()
    writer.put(PairVerdictRow(good["a"], good["b"], judge, "judge_error", None, None, None, NOW))
    writer.close()
    assert store.judged_pairs(judge) == set()  # an error is no verdict: it is asked again
    writer = store.writer()
    writer.put(PairVerdictRow(good["a"], good["b"], judge, "same", 1.0, None, '{"x": 1}', NOW))
    writer.put(PairVerdictRow(good["a"], good["b"], judge, "first", None, None, None, NOW))
    writer.close()
    assert store.judged_pairs(judge) == {(good["a"], good["b"])}
    assert [(r.prompt_a, r.prompt_b, r.sample_index, r.label, r.score, r.extra_json)
            for r in store.pair_verdict_table(run.id)] == [("a", "b", 0, "same", 1.0, '{"x": 1}')]


def test_the_writer_writes_turns_and_their_verdicts(store: Store) -> None:
    run, tid, pids = _setup(store)
    a = pids["a"]
    judge = store.ensure_judge("turn.judge", "1", "{}")
    writer = store.writer()
    for turn, text in ((1, "hello"), (2, "you idiot")):
        writer.put(TurnRow(run.id, tid, a, 0, turn, f"user {turn}", "ok", text, 5, 10 * turn, 2,
                           "stop", None, 1, 1, NOW))
        writer.put(TurnVerdictRow(tid, a, 0, turn, judge, _lexicon(text), None, None, None, NOW,
                                  text))
    writer.put(TurnRow(run.id, tid, a, 0, 2, "again", "ok", "second", 5, 1, 1, "stop", None, 1,
                       1, NOW))  # the first stands
    writer.put(TurnRow(run.id, tid, a, 0, 3, "user 3", "error", None, None, None, None, None,
                       "boom", 1, 2, NOW))
    writer.put(TurnVerdictRow(tid, a, 0, 3, judge, "bad", None, None, None, NOW, "not it"))
    writer.close()
    assert [(r.turn, r.user_text, r.status, r.text, r.error, r.prompt_tokens, r.tags)
            for r in store.turn_table(run.id)] == [
        (1, "user 1", "ok", "hello", None, 10, {"side": "a"}),
        (2, "user 2", "ok", "you idiot", None, 20, {"side": "a"}),
        (3, "user 3", "error", None, "boom", None, {"side": "a"})]
    assert [(r.turn, r.label) for r in store.turn_verdict_table(run.id)] == [
        (1, "clean"), (2, "abusive")]
    assert store.turn_tokens(run.id) == 10 + 2 + 20 + 2
    assert [(t.turn, t.labels) for t in store.stored_turns(tid)[(a, 0)]] == [
        (1, {judge: "clean"}), (2, {judge: "abusive"}), (3, {})]


def test_delete_error_samples_lets_a_resume_sample_them_again(store: Store) -> None:
    run, tid, pids = _setup(store)
    a = pids["a"]
    writer = store.writer()
    writer.put(_sample(run.id, tid, a, 0, "fine"))
    writer.put(_sample(run.id, tid, a, 1, None, status="error"))
    writer.put(TurnRow(run.id, tid, pids["b"], 0, 1, "u", "ok", "t", 1, 1, 1, "stop", None, 1,
                       1, NOW))
    writer.put(TurnRow(run.id, tid, pids["b"], 0, 2, "u", "error", None, None, None, None, None,
                       "boom", 1, 1, NOW))
    writer.close()
    assert store.count_samples(run.id) == 2 and store.existing_indices(tid) == {a: {0, 1}}
    assert store.delete_error_samples(run.id) == 1
    assert store.count_samples(run.id) == 1 and store.existing_indices(tid) == {a: {0}}
    assert [r.turn for r in store.turn_table(run.id)] == [1]  # the failed turn goes too
    assert store.delete_error_samples(run.id) == 0


# -- leases: one writer per run ----------------------------------------------------------------
def _holder(owner: str, expires_in_ms: int, host: str = "elsewhere.example") -> LeaseHolder:
    now = int(time.time() * 1000)
    return LeaseHolder(owner=owner, host=host, pid=4242, command="run", acquired_ms=now,
                       heartbeat_ms=now, expires_ms=now + expires_in_ms)


def test_a_lease_is_taken_renewed_released_and_taken_over_once_lapsed(store: Store) -> None:
    run, _, _ = _setup(store)
    assert store.lease_of(run.id) is None
    first = _holder("first", 60_000)
    assert store.try_lease(run.id, first) is None
    assert store.lease_of(run.id) == first
    assert store.progress(run.id).holder == first
    (listed,) = store.list_runs()
    assert listed.running and "pid 4242 on elsewhere.example" in listed.running
    assert store.try_lease(run.id, _holder("second", 60_000)) == first  # a live holder keeps it
    assert store.renew_lease(run.id, "first", first.expires_ms + 5_000)
    renewed = store.lease_of(run.id)
    assert renewed is not None and renewed.expires_ms == first.expires_ms + 5_000
    assert not store.renew_lease(run.id, "second", first.expires_ms)  # not theirs
    store.release_lease(run.id, "second")  # not theirs: nothing happens
    assert store.lease_of(run.id) is not None
    store.release_lease(run.id, "first")
    assert store.lease_of(run.id) is None and store.progress(run.id).holder is None
    assert store.try_lease(run.id, _holder("second", 60_000)) is None
    store.release_lease(run.id, "second")
    lapsed = _holder("lapsed", -1)
    assert store.try_lease(run.id, lapsed) is None
    assert store.lease_of(run.id) is None  # a lapsed lease is no holder
    assert store.try_lease(run.id, _holder("taker", 60_000)) is None  # taken over
    assert not store.renew_lease(run.id, "lapsed", lapsed.expires_ms + 60_000)


def test_a_writer_that_lost_its_lease_writes_nothing(store: Store) -> None:
    run, tid, pids = _setup(store)
    mine = _holder("mine", 60_000)
    assert store.try_lease(run.id, mine) is None
    writer = store.writer((run.id, "mine"))
    writer.put(_sample(run.id, tid, pids["a"], 0, "while held"))
    writer.close()
    assert store.count_samples(run.id) == 1
    # This process stalls past its expiry and another takes the run over.
    assert store.renew_lease(run.id, "mine", int(time.time() * 1000) - 1)
    assert store.try_lease(run.id, _holder("thief", 60_000)) is None
    assert not store.renew_lease(run.id, "mine", int(time.time() * 1000) + 60_000)
    writer = store.writer((run.id, "mine"))
    writer.put(_sample(run.id, tid, pids["a"], 1, "too late"))
    with pytest.raises(StoreError, match="no longer holds the lease"):
        writer.close()
    assert store.count_samples(run.id) == 1


# -- opening: reopen, read-only, close -------------------------------------------------------------
def _judge_ids(s: Store, a: Audited) -> tuple[int, int]:
    """The ids of the run's pair judge and of a judge with no verdicts (ensure_judge writes, so
    they are made on the writable store)."""
    pair = s.pair_verdict_table(a.single.id)[0]
    return (s.ensure_judge(pair.judge, pair.judge_version, pair.judge_args),
            s.ensure_judge("contract.unused", "1", "{}"))


def _reads(s: Store, a: Audited, judge_ids: tuple[int, int]) -> dict[str, Any]:
    """What every read of the store gives on the audited runs."""
    single, talk = a.single.id, a.talk.id
    good = s.stored_samples(single)
    return {
        "find_run": (s.find_run(single), s.find_run("talk")), "list_runs": s.list_runs(),
        "summary": s.summary(single), "progress": s.progress(single),
        "iter_samples": list(s.iter_samples(single)) + list(s.iter_samples(talk)),
        "samples_with_tags": list(s.samples_with_tags(single)),
        "probes_of": s.probes_of(single), "count_samples": s.count_samples(single),
        "existing_indices": s.existing_indices(good[0].target_id), "stored_samples": good,
        "verdict_table": s.verdict_table(single), "pair_verdict_table": s.pair_verdict_table(single),
        "turn_table": s.turn_table(talk), "turn_verdict_table": s.turn_verdict_table(talk),
        "turn_tokens": s.turn_tokens(talk),
        "stored_turns": s.stored_turns(s.stored_samples(talk)[0].target_id),
        "lease_of": s.lease_of(single),
        "judged_pairs": s.judged_pairs(judge_ids[0]),
        "samples_to_judge": list(s.samples_to_judge(single, judge_ids[1])),
    }


def test_a_store_opened_read_only_reads_the_same_and_refuses_to_write(
        audited: Audited, implementation: Implementation) -> None:
    ids = _judge_ids(audited.store, audited)
    expected = _reads(audited.store, audited, ids)
    assert expected["samples_to_judge"] and expected["judged_pairs"]
    ro = implementation.open(audited.folder, read_only=True)
    try:
        assert _reads(ro, audited, ids) == expected
        with pytest.raises(StoreError, match="read-only"):
            ro.writer()
        again = ro.reopen()  # opened as it was: read-only still
        try:
            assert again.find_run("single") == audited.single
            with pytest.raises(StoreError, match="read-only"):
                again.writer()
        finally:
            again.close()
    finally:
        ro.close()


def test_reopen_gives_the_same_store_on_a_connection_of_its_own(audited: Audited) -> None:
    other = audited.store.reopen()
    try:
        assert other.path == audited.store.path
        ids = _judge_ids(audited.store, audited)
        assert _reads(other, audited, ids) == _reads(audited.store, audited, ids)
    finally:
        other.close()


def test_what_was_written_is_there_after_close(implementation: Implementation,
                                               tmp_path: Path) -> None:
    s = implementation.open(tmp_path)
    run, tid, pids = _setup(s)
    writer = s.writer()
    writer.put(_sample(run.id, tid, pids["a"], 0, "kept"))
    writer.close()
    s.close()
    s = implementation.open(tmp_path, read_only=True)
    try:
        assert [x.text for x in s.iter_samples(run.id)] == ["kept"]
    finally:
        s.close()


def test_read_records_are_frozen_with_named_fields(audited: Audited) -> None:
    s, single, talk = audited.store, audited.single.id, audited.talk.id
    for record in (s.verdict_table(single)[0], s.pair_verdict_table(single)[0],
                   s.turn_table(talk)[0], s.turn_verdict_table(talk)[0],
                   next(iter(s.samples_with_tags(single)))):
        assert dataclasses.is_dataclass(record) and "__slots__" in vars(type(record))
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(record, dataclasses.fields(record)[0].name, None)
    assert [f.name for f in dataclasses.fields(VerdictRecord)] == [
        "target", "probe", "prompt_id", "sample_index", "judge", "judge_version", "judge_args",
        "label", "score"]


# -- the protocol is what callers use ------------------------------------------------------------
# A call or attribute on a store: ``store.x``, ``self._store.x``, ``heartbeat_store.x`` (not the
# module ``levelhead.store``).
_STORE_USE = re.compile(r"(?<![\w.])(?:self\.)?_?(?:\w+_)?store\.([A-Za-z]\w*)")


def _protocol_members() -> set[str]:
    members = {name for name in vars(Store) if not name.startswith("_")}
    return members | set(Store.__annotations__)


def _used_on_stores() -> dict[str, set[str]]:
    used: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        for match in _STORE_USE.finditer(path.read_text(encoding="utf-8")):
            used.setdefault(match.group(1), set()).add(str(path.relative_to(SRC)))
    return used


def test_every_method_called_on_a_store_in_src_is_on_the_protocol() -> None:
    used = _used_on_stores()
    assert {"find_run", "verdict_table", "writer", "try_lease", "path"} <= set(used)  # it scans
    missing = {name: sorted(files) for name, files in used.items()
               if name not in _protocol_members()}
    assert not missing, (f"called on a store but not declared on levelhead.store.Store: "
                         f"{missing}; declare them (with a docstring) so that every store has them")


def test_every_protocol_method_is_implemented_alike_and_documented(store: Store) -> None:
    for name in sorted(_protocol_members()):
        assert hasattr(store, name), f"{type(store).__name__} lacks {name}"
        declared = vars(Store).get(name)
        if not callable(declared):
            continue
        assert inspect.getdoc(declared), f"Store.{name} has no docstring"
        want = inspect.signature(declared).parameters
        have = inspect.signature(getattr(type(store), name)).parameters
        assert [(p.name, p.kind, p.default) for p in have.values()] == [
            (p.name, p.kind, p.default) for p in want.values()], f"{name}: other parameters"


# The files of the contract suite: this one, and the halves of review queues, guard and monitor.
CONTRACT = (Path(__file__), Path(__file__).with_name("test_store_reviews.py"),
            Path(__file__).with_name("test_store_guard.py"),
            Path(__file__).with_name("test_store_monitor.py"))


def test_every_protocol_member_is_exercised_by_this_suite() -> None:
    attributes = {node.attr for path in CONTRACT
                  for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                  if isinstance(node, ast.Attribute)}
    assert not _protocol_members() - attributes, "a Store method no contract test calls"
