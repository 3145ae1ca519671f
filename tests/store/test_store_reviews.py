"""Spot-check review queues in the store (issue 17): a queue of a run's samples drawn for people
to label, and the labels they give.

The first part is the review half of the store contract: it runs once per entry of the
contract's ``IMPLEMENTATIONS`` (SQLite today), on stores filled by a real run with scripted
targets, and ``test_store_contract.py`` counts what it calls as exercised. The second part is
about the SQLite file itself: two processes labelling one queue at once, the migration that adds
the review tables to a store written before it, and a read-only open of such a store.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from test_store_contract import IMPLEMENTATIONS, Implementation

from levelhead import open_store, run_audit
from levelhead.errors import RunNotFoundError, StoreError
from levelhead.spec import spec_from_dict
from levelhead.store import (
    ReviewItemRecord,
    ReviewLabelRecord,
    ReviewQueueRecord,
    Store,
    StoredSample,
)

LABELS = ["abusive", "clean", "unsure"]
SPEC = {
    "run": {"name": "spot", "samples": 2, "seed": 1},
    "targets": [
        {"name": "bot", "kind": "scripted", "replies": ["unused"],
         "by_prompt": {"about A": ["You idiot, A is fine."], "about B": ["B is fine."],
                       "about C": ["C is fine."]}},
        {"name": "broken", "kind": "scripted", "fatal_rate": 1.0, "max_retries": 0},
    ],
    "probes": [{"name": "custom", "judges": ["abuse.lexicon"], "prompts": [
        {"id": p, "text": f"Say something about {p.upper()}."} for p in ("a", "b", "c")]}],
}


def _spec(name: str) -> Any:
    return spec_from_dict({**SPEC, "run": {**SPEC["run"], "name": name}})


@pytest.fixture(scope="module", params=IMPLEMENTATIONS, ids=lambda i: i.name)
def implementation(request: pytest.FixtureRequest) -> Implementation:
    impl: Implementation = request.param
    return impl


@dataclass
class Reviewed:
    """A store holding run ``spot``: ``bot`` insults about A and not about B or C (6 replies,
    judged by abuse.lexicon), ``broken`` fails every call (6 errors)."""

    folder: Path
    store: Store
    run_id: int
    judge_id: int
    good: list[StoredSample]  # the 6 replies, in the order stored
    strata: dict[int, str]  # the judge's label per sample id

    def items(self, order: list[int] | None = None) -> list[tuple[int, str, float]]:
        """Every reply as a review item, in ``order`` (indices into ``good``): abusive ones
        (2 of 2) drawn surely, clean ones (4) with probability 1/2."""
        chosen = [self.good[i] for i in (order if order is not None else range(len(self.good)))]
        return [(x.sample_id, self.strata[x.sample_id],
                 1.0 if self.strata[x.sample_id] == "abusive" else 0.5) for x in chosen]

    def queue(self, name: str = "spot-check", **kwargs: Any) -> ReviewQueueRecord:
        args: dict[str, Any] = {"labels": LABELS, "design": DESIGN, "items": self.items()}
        args.update(kwargs)
        return self.store.create_review_queue(self.run_id, name, self.judge_id, **args)


DESIGN = {"seed": 7, "size": 6, "strata": {"abusive": {"N_h": 2, "n_h": 2},
                                           "clean": {"N_h": 4, "n_h": 4}}}


@pytest.fixture
def reviewed(implementation: Implementation, tmp_path: Path) -> Iterator[Reviewed]:
    store = implementation.open(tmp_path)
    result = run_audit(_spec("spot"), store)
    assert result.complete and result.errors == 6
    run = store.find_run("spot")
    verdict = store.verdict_table(run.id)[0]
    judge_id = store.ensure_judge(verdict.judge, verdict.judge_version, verdict.judge_args)
    good = store.stored_samples(run.id)
    labels = {(v.prompt_id, v.sample_index): v.label for v in store.verdict_table(run.id)}
    strata = {x.sample_id: labels[(x.prompt_key, x.sample_index)] for x in good}
    assert sorted(strata.values()) == ["abusive"] * 2 + ["clean"] * 4
    yield Reviewed(tmp_path, store, run.id, judge_id, good, strata)
    store.close()


# ------------------------------------------------------------------------------ the contract
def test_a_queue_is_stored_whole_and_read_back_in_the_order_reviewers_see(reviewed: Reviewed
                                                                           ) -> None:
    s = reviewed.store
    order = [5, 0, 3, 1, 4, 2]
    queue = reviewed.queue(items=reviewed.items(order))
    assert isinstance(queue, ReviewQueueRecord)
    verdict = s.verdict_table(reviewed.run_id)[0]
    assert (queue.run_id, queue.name, queue.judge_id, queue.judge_name, queue.judge_version,
            queue.judge_args) == (reviewed.run_id, "spot-check", reviewed.judge_id, verdict.judge,
                                  verdict.judge_version, verdict.judge_args)
    assert queue.labels == tuple(LABELS) and queue.design == DESIGN
    assert (queue.items, queue.labelled) == (6, 0) and queue.created_at.startswith("20")
    items = s.review_items(queue.id)
    assert all(isinstance(i, ReviewItemRecord) for i in items)
    assert [i.position for i in items] == list(range(6))
    assert [i.sample_id for i in items] == [reviewed.good[k].sample_id for k in order]
    for item, k in zip(items, order, strict=True):
        x = reviewed.good[k]
        assert (item.queue_id, item.target, item.probe, item.prompt_id, item.sample_index) == (
            queue.id, "bot", "custom", x.prompt_key, x.sample_index)
        assert item.stratum == reviewed.strata[x.sample_id]
        assert item.inclusion_prob == (1.0 if item.stratum == "abusive" else 0.5)


def test_queues_are_listed_newest_first_and_found_by_name_or_id(reviewed: Reviewed) -> None:
    s = reviewed.store
    first = reviewed.queue("first")
    second = reviewed.queue("second", labels=["abusive", "clean"], items=reviewed.items([1, 2]))
    run_audit(_spec("other"), s)
    other_run = s.find_run("other")
    verdict = s.verdict_table(other_run.id)[0]
    other_good = s.stored_samples(other_run.id)
    elsewhere = s.create_review_queue(  # the same name in another run is another queue
        other_run.id, "first", s.ensure_judge(verdict.judge, verdict.judge_version,
                                              verdict.judge_args),
        ["abusive", "clean"], {}, [(other_good[0].sample_id, "abusive", 1.0)])
    assert [q.name for q in s.review_queues(reviewed.run_id)] == ["second", "first"]
    assert s.review_queues(other_run.id) == [elsewhere]
    assert s.review_queues() == [elsewhere, second, first]
    assert s.review_queues(10_000) == []
    assert (second.items, second.labels) == (2, ("abusive", "clean"))
    for ref in ("first", first.id, str(first.id), " first "):
        assert s.find_review_queue(reviewed.run_id, ref) == first
    assert s.find_review_queue(other_run.id, "first") == elsewhere
    assert s.find_review_queue(other_run.id, elsewhere.id) == elsewhere


def test_a_missing_queue_is_one_line_that_says_what_there_is(reviewed: Reviewed) -> None:
    s, run_id = reviewed.store, reviewed.run_id
    with pytest.raises(StoreError, match=r"^no review queue 'first' in run 'spot' \(it has no "
                                         r"review queues yet\)$"):
        s.find_review_queue(run_id, "first")
    first = reviewed.queue("first")
    for name in ("second", "third", "fourth", "fifth", "sixth"):
        reviewed.queue(name, items=reviewed.items([0]))
    with pytest.raises(StoreError, match=r"\(did you mean 'first'\?\)$"):
        s.find_review_queue(run_id, "frist")
    with pytest.raises(StoreError, match=r"^no review queue 'zzz' in run 'spot' \(its review "
                                         r"queues, newest first: sixth, fifth, fourth, third, "
                                         r"second and 1 more\)$"):
        s.find_review_queue(run_id, "zzz")
    with pytest.raises(StoreError, match=f"no review queue '{first.id + 100}'"):
        s.find_review_queue(run_id, first.id + 100)
    with pytest.raises(RunNotFoundError):
        s.find_review_queue(run_id + 100, "first")
    for read in (s.review_items, s.review_labels):
        with pytest.raises(StoreError, match=f"no review queue with id {first.id + 100} in"):
            read(first.id + 100)


def test_a_relabel_supersedes_and_an_undo_walks_back_keeping_the_history(reviewed: Reviewed
                                                                         ) -> None:
    s = reviewed.store
    queue = reviewed.queue()
    one, two = (i.sample_id for i in s.review_items(queue.id)[:2])
    first = s.add_review_label(queue.id, one, "ann", "abusive")
    assert isinstance(first, ReviewLabelRecord)
    assert (first.queue_id, first.sample_id, first.reviewer, first.label, first.note,
            first.undone) == (queue.id, one, "ann", "abusive", "", False)
    assert first.created_at.startswith("20")
    relabel = s.add_review_label(queue.id, one, "  ann ", "clean", note=" on second look\r\nfine ")
    assert (relabel.reviewer, relabel.note) == ("ann", "on second look\nfine")
    bob = s.add_review_label(queue.id, one, "Bob", "abusive")
    later = s.add_review_label(queue.id, two, "ann", "unsure")
    assert first.id < relabel.id < bob.id < later.id

    def current() -> list[tuple[int, str, str]]:
        return [(x.sample_id, x.reviewer, x.label) for x in s.review_labels(queue.id)]

    # One label per reviewer and item, by position and reviewer; the history keeps every one.
    assert current() == [(one, "Bob", "abusive"), (one, "ann", "clean"), (two, "ann", "unsure")]
    assert s.review_labels(queue.id) == [bob, relabel, later]
    assert s.review_labels(queue.id, history=True) == [first, relabel, bob, later]
    assert s.find_review_queue(reviewed.run_id, queue.id).labelled == 2

    undone = s.undo_review_label(queue.id, "ann")  # ann's newest: item two
    assert undone == dataclasses.replace(later, undone=True)
    assert current() == [(one, "Bob", "abusive"), (one, "ann", "clean")]
    assert s.find_review_queue(reviewed.run_id, queue.id).labelled == 1
    assert s.undo_review_label(queue.id, " ann") == dataclasses.replace(relabel, undone=True)
    assert current() == [(one, "Bob", "abusive"), (one, "ann", "abusive")]  # her first again
    assert s.undo_review_label(queue.id, "ann") == dataclasses.replace(first, undone=True)
    assert s.undo_review_label(queue.id, "ann") is None  # nothing left to undo
    assert s.undo_review_label(queue.id, "carol") is None
    assert current() == [(one, "Bob", "abusive")]
    assert [(x.id, x.undone) for x in s.review_labels(queue.id, history=True)] == [
        (first.id, True), (relabel.id, True), (bob.id, False), (later.id, True)]
    again = s.add_review_label(queue.id, two, "ann", "clean")  # labelling after an undo
    assert current() == [(one, "Bob", "abusive"), (two, "ann", "clean")]
    assert s.undo_review_label(queue.id, "Bob") == dataclasses.replace(bob, undone=True)
    assert s.review_labels(queue.id) == [again]
    assert [q.labelled for q in s.review_queues(reviewed.run_id)] == [1]


def test_labels_of_one_queue_are_not_another_queues(reviewed: Reviewed) -> None:
    s = reviewed.store
    a = reviewed.queue("a")
    b = reviewed.queue("b")
    sample = reviewed.good[0].sample_id
    s.add_review_label(a.id, sample, "ann", "clean")
    assert s.review_labels(b.id) == [] and s.undo_review_label(b.id, "ann") is None
    assert [x.label for x in s.review_labels(a.id)] == ["clean"]


@pytest.mark.parametrize(("change", "message"), [
    ({"name": "taken"}, r"run 'spot' already has a review queue 'taken' \(id \d+\); give the new "
                        r"queue another name"),
    ({"name": "  "}, "a review queue's name must be 1 to 64 characters, not 0"),
    ({"name": "x" * 65}, "a review queue's name must be 1 to 64 characters, not 65"),
    ({"name": "a\nb"}, r"holds a control or invisible character \(U\+000A\)"),
    ({"name": "42"}, "is only digits, which would read as a queue id"),
    ({"judge_id": 10_000}, "no judge identity with id 10000"),
    ({"labels": []}, "needs a list of labels"),
    ({"labels": "abusive"}, "needs a list of labels"),
    ({"labels": ["clean", "clean"]}, "review label 'clean' is given twice"),
    ({"labels": ["clean", " abusive"]}, "must be non-empty plain text without surrounding"),
    ({"labels": ["clean", ""]}, "must be non-empty plain text"),
    ({"design": [1, 2]}, "design must be a dict"),
    ({"design": {"p": float("nan")}}, "design must be plain JSON"),
    ({"design": {"when": time}}, "design must be plain JSON"),
    ({"items": []}, "needs at least one sample to review"),
    ({"items": "dup"}, r"review item 1: sample \d+ is in the queue twice"),
    ({"items": "other run"}, r"sample \d+ is not a sample of run 'spot'"),
    ({"items": [(10_000, "clean", 0.5)]}, "sample 10000 is not a sample of run 'spot'"),
    ({"items": [(1, "clean")]}, r"review item 0 must be \(sample id, stratum, inclusion "),
    ({"items": [("1", "clean", 0.5)]}, "review item 0: sample id '1' is not an integer"),
    ({"items": "stratum"}, "review item 0: stratum '' must be non-empty text"),
    ({"items": "p=0"}, "review item 0: inclusion probability 0.0 must be above 0 and at most 1"),
    ({"items": "p=1.5"}, "inclusion probability 1.5 must be above 0 and at most 1"),
    ({"items": "p=nan"}, "inclusion probability nan must be above 0"),
], ids=["name taken", "blank name", "long name", "name with newline", "digits name",
        "unknown judge", "no labels", "labels a string", "label twice", "label spaced",
        "label empty", "design a list", "design NaN", "design object", "no items",
        "sample twice", "sample of another run", "unknown sample", "item of two",
        "sample id text", "empty stratum", "probability 0", "probability 1.5", "probability NaN"])
def test_a_malformed_queue_is_refused_in_one_line_and_nothing_is_stored(
        reviewed: Reviewed, change: dict[str, Any], message: str) -> None:
    s = reviewed.store
    taken = reviewed.queue("taken")
    sid = reviewed.good[0].sample_id
    items = change.get("items")
    if items == "dup":
        change["items"] = [(sid, "clean", 0.5), (sid, "clean", 0.5)]
    elif items == "other run":
        run_audit(_spec("other"), s)
        change["items"] = [(sid, "clean", 0.5),
                           (s.stored_samples(s.find_run("other").id)[0].sample_id, "clean", 0.5)]
    elif items == "stratum":
        change["items"] = [(sid, "", 0.5)]
    elif isinstance(items, str) and items.startswith("p="):
        change["items"] = [(sid, "clean", float(items[2:]))]
    args: dict[str, Any] = {"name": "new", "judge_id": reviewed.judge_id, "labels": LABELS,
                            "design": DESIGN, "items": reviewed.items()}
    args.update(change)
    with pytest.raises(StoreError, match=message) as raised:
        s.create_review_queue(reviewed.run_id, **args)
    assert "\n" not in str(raised.value)
    assert s.review_queues(reviewed.run_id) == [taken]


def test_a_queue_of_an_unknown_run_is_refused(reviewed: Reviewed) -> None:
    with pytest.raises(RunNotFoundError):
        reviewed.store.create_review_queue(reviewed.run_id + 100, "q", reviewed.judge_id, LABELS,
                                           {}, reviewed.items())


@pytest.mark.parametrize(("args", "message"), [
    ({"sample_id": "not queued"}, r"sample \d+ is not in review queue 'spot-check'"),
    ({"label": "abusiv"}, r"'abusiv' is not a label of review queue 'spot-check'; did you mean "
                          r"'abusive'\?"),
    ({"label": "toxic"}, "'toxic' is not a label of review queue 'spot-check'; choose one of: "
                         "abusive, clean, unsure"),
    ({"reviewer": " "}, "a reviewer's name must be 1 to 64 characters, not 0"),
    ({"reviewer": "a" * 65}, "a reviewer's name must be 1 to 64 characters, not 65"),
    ({"reviewer": "ann\tsmith"}, r"a reviewer's name 'ann\\tsmith' holds a control or invisible "
                                 r"character \(U\+0009\)"),
    ({"reviewer": "ann\u202egnp"}, r"invisible character \(U\+202E\)"),
    ({"reviewer": 7}, "a reviewer's name must be text, not int"),
    ({"note": "x" * 2_001}, "a note may hold up to 2,000 characters, not 2,001"),
    ({"note": "bell\x07"}, r"a note holds a control character \(U\+0007\)"),
    ({"queue_id": 10_000}, "no review queue with id 10000 in"),
], ids=["sample not queued", "label misspelt", "label unknown", "blank reviewer",
        "long reviewer", "reviewer with tab", "reviewer with override", "reviewer a number",
        "long note", "note with bell", "unknown queue"])
def test_a_malformed_label_is_refused_in_one_line_and_nothing_is_stored(
        reviewed: Reviewed, args: dict[str, Any], message: str) -> None:
    s = reviewed.store
    queue = reviewed.queue(items=reviewed.items([0, 1]))
    call: dict[str, Any] = {"queue_id": queue.id, "sample_id": reviewed.good[0].sample_id,
                            "reviewer": "ann", "label": "clean", "note": ""}
    call.update(args)
    if call["sample_id"] == "not queued":
        call["sample_id"] = reviewed.good[2].sample_id  # a reply of the run, not drawn
    with pytest.raises(StoreError, match=message) as raised:
        s.add_review_label(**call)
    assert "\n" not in str(raised.value)
    assert s.review_labels(queue.id, history=True) == []


def test_the_longest_names_and_notes_are_taken(reviewed: Reviewed) -> None:
    s = reviewed.store
    queue = reviewed.queue("q" * 64)
    note = "line one\n\tline two " + "x" * 1_981
    label = s.add_review_label(queue.id, reviewed.good[0].sample_id, "李" * 64, "clean", note)
    assert (label.reviewer, label.note, len(note)) == ("李" * 64, note, 2_000)
    assert s.review_labels(queue.id) == [label]
    assert s.undo_review_label(queue.id, "李" * 64) == dataclasses.replace(label, undone=True)
    with pytest.raises(StoreError, match="a reviewer's name must be 1 to 64 characters"):
        s.undo_review_label(queue.id, "")


def test_a_read_only_store_reads_queues_and_refuses_to_change_them(
        reviewed: Reviewed, implementation: Implementation) -> None:
    s = reviewed.store
    queue = reviewed.queue()
    sid = reviewed.good[0].sample_id
    s.add_review_label(queue.id, sid, "ann", "clean")
    ro = implementation.open(reviewed.folder, read_only=True)
    try:
        assert ro.review_queues() == s.review_queues()
        found = ro.find_review_queue(reviewed.run_id, "spot-check")
        assert found == dataclasses.replace(queue, labelled=1)
        assert ro.review_items(queue.id) == s.review_items(queue.id)
        assert ro.review_labels(queue.id, history=True) == s.review_labels(queue.id, history=True)
        for write in (lambda: ro.create_review_queue(reviewed.run_id, "new", reviewed.judge_id,
                                                     LABELS, {}, reviewed.items()),
                      lambda: ro.add_review_label(queue.id, sid, "ann", "abusive"),
                      lambda: ro.undo_review_label(queue.id, "ann")):
            with pytest.raises(StoreError, match="was opened read-only; cannot"):
                write()
    finally:
        ro.close()
    assert [x.label for x in s.review_labels(queue.id)] == ["clean"]


def test_review_records_are_frozen_with_named_fields(reviewed: Reviewed) -> None:
    s = reviewed.store
    queue = reviewed.queue()
    label = s.add_review_label(queue.id, reviewed.good[0].sample_id, "ann", "clean")
    for record in (queue, s.review_items(queue.id)[0], label):
        assert dataclasses.is_dataclass(record) and "__slots__" in vars(type(record))
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(record, dataclasses.fields(record)[0].name, None)
    assert [f.name for f in dataclasses.fields(ReviewQueueRecord)] == [
        "id", "run_id", "name", "judge_id", "judge_name", "judge_version", "judge_args", "labels",
        "design", "created_at", "items", "labelled"]
    assert [f.name for f in dataclasses.fields(ReviewItemRecord)] == [
        "queue_id", "position", "sample_id", "stratum", "inclusion_prob", "target", "probe",
        "prompt_id", "sample_index"]
    assert [f.name for f in dataclasses.fields(ReviewLabelRecord)] == [
        "id", "queue_id", "sample_id", "reviewer", "label", "note", "created_at", "undone"]


# ------------------------------------------------------------------------------ SQLite files
@pytest.fixture
def sqlite_reviewed(tmp_path: Path) -> Iterator[Reviewed]:
    store = open_store(tmp_path / "s.db")
    run_audit(_spec("spot"), store)
    run = store.find_run("spot")
    verdict = store.verdict_table(run.id)[0]
    judge_id = store.ensure_judge(verdict.judge, verdict.judge_version, verdict.judge_args)
    good = store.stored_samples(run.id)
    labels = {(v.prompt_id, v.sample_index): v.label for v in store.verdict_table(run.id)}
    yield Reviewed(tmp_path, store, run.id, judge_id, good,
                   {x.sample_id: labels[(x.prompt_key, x.sample_index)] for x in good})
    store.close()


def test_an_error_sample_cannot_be_queued(sqlite_reviewed: Reviewed) -> None:
    r = sqlite_reviewed
    with sqlite3.connect(r.folder / "s.db") as c:
        (error_id,) = c.execute("SELECT id FROM samples WHERE status = 'error' LIMIT 1").fetchone()
    c.close()
    with pytest.raises(StoreError, match=f"sample {error_id} of run 'spot' is an error, with no "
                                         "reply to review; draw only samples with a reply"):
        r.queue(items=[*r.items(), (error_id, "judge_error", 1.0)])
    assert r.store.review_queues() == []


LABELLER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from levelhead import open_store
    path, queue_id, reviewer, go, rounds, *samples = sys.argv[1:]
    store = open_store(path)
    Path(go).with_name("ready-" + reviewer).touch()
    while not Path(go).exists():
        time.sleep(0.001)
    start = time.time()
    for k in range(int(rounds)):
        for sample in samples:
            store.add_review_label(int(queue_id), int(sample), reviewer,
                                   "clean" if k % 2 else "abusive", f"round {k}")
    print(start, time.time())
    store.close()
""")


def test_two_processes_labelling_one_queue_at_once_lose_no_label(sqlite_reviewed: Reviewed
                                                                 ) -> None:
    r = sqlite_reviewed
    queue = r.queue()
    samples = [str(i.sample_id) for i in r.store.review_items(queue.id)]
    go = r.folder / "go"
    rounds = 40
    procs = [subprocess.Popen([sys.executable, "-c", LABELLER, str(r.folder / "s.db"),
                               str(queue.id), who, str(go), str(rounds), *samples],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for who in ("ann", "bob")]
    deadline = time.monotonic() + 60
    while not all((r.folder / f"ready-{who}").exists() for who in ("ann", "bob")):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), [
            p.communicate() for p in procs if p.poll() is not None]
        time.sleep(0.01)
    go.touch()  # both have opened the store: they start together
    spans = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        spans.append([float(t) for t in out.split()])
    # Each began before the other was done: their writes contended for the store.
    assert max(start for start, _ in spans) < min(end for _, end in spans), spans
    history = r.store.review_labels(queue.id, history=True)
    assert len(history) == 2 * rounds * len(samples)  # every label of both is there
    for who in ("ann", "bob"):
        mine = [x for x in history if x.reviewer == who]
        assert [(x.sample_id, x.note) for x in mine] == [
            (int(s), f"round {k}") for k in range(rounds) for s in samples]  # in its order
    last = "clean" if (rounds - 1) % 2 else "abusive"
    assert sorted((x.sample_id, x.reviewer, x.label) for x in r.store.review_labels(queue.id)) == \
        sorted((int(s), who, last) for s in samples for who in ("ann", "bob"))
    assert r.store.find_review_queue(r.run_id, queue.id).labelled == len(samples)


def _unmigrate_reviews(path: Path) -> None:
    """Turn a store back into one written before migration 0005: its tables are those of
    0001-0004 exactly, so this is the store an earlier levelhead left."""
    with sqlite3.connect(path) as c:
        for table in ("monitor_malformed", "monitor_sources", "monitor_verdicts", "monitor_turns",
                      "guard_decisions", "review_labels", "review_items", "review_queues"):
            c.execute(f"DROP TABLE {table}")
        c.execute("DELETE FROM schema_migrations WHERE name >= '0005'")
    c.close()


def test_a_store_written_before_reviews_reads_without_queues_and_migrates_on_a_write(
        tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = open_store(db)
    run_audit(_spec("spot"), store)
    store.close()
    _unmigrate_reviews(db)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    old = open_store(db, read_only=True)  # read as it is: the review tables read as empty
    run = old.find_run("spot")
    assert old.migrations_applied()[-1] == "0004_run_leases"
    assert old.review_queues() == [] and old.review_queues(run.id) == []
    with pytest.raises(StoreError, match="it has no review queues yet"):
        old.find_review_queue(run.id, "spot-check")
    old.close()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # not a byte changed

    store = open_store(db)  # a writing open applies the migration to the old run's store
    try:
        assert store.migrations_applied()[-3:] == ["0005_reviews", "0006_guard_decisions",
                                                   "0007_monitor"]
        verdict = store.verdict_table(run.id)[0]
        judge = store.ensure_judge(verdict.judge, verdict.judge_version, verdict.judge_args)
        sample = store.stored_samples(run.id)[0].sample_id
        queue = store.create_review_queue(run.id, "spot-check", judge, LABELS, DESIGN,
                                          [(sample, verdict.label, 1.0)])
        store.add_review_label(queue.id, sample, "ann", "clean")
        assert [(q.name, q.items, q.labelled) for q in store.review_queues()] == [
            ("spot-check", 1, 1)]
    finally:
        store.close()


def test_the_review_tables_hold_their_rules_on_their_own(sqlite_reviewed: Reviewed) -> None:
    """The schema refuses what the store's checks refuse, for a writer that skips them."""
    r = sqlite_reviewed
    queue = r.queue(items=r.items([0]))
    c = sqlite3.connect(r.folder / "s.db")
    c.execute("PRAGMA foreign_keys=ON")
    try:
        sid, other = r.good[0].sample_id, r.good[1].sample_id
        for sql, args in (
                ("INSERT INTO review_queues (run_id, name, judge_id, labels_json, design_json,"
                 " created_at) VALUES (?, 'spot-check', ?, '[]', '{}', 'now')",
                 (r.run_id, r.judge_id)),
                ("INSERT INTO review_items VALUES (?, 0, ?, 'clean', 0.5)", (queue.id, other)),
                ("INSERT INTO review_items VALUES (?, 1, ?, 'clean', 0.5)", (queue.id, sid)),
                ("INSERT INTO review_items VALUES (?, 1, ?, 'clean', 0)", (queue.id, other)),
                ("INSERT INTO review_labels (queue_id, sample_id, reviewer, label, created_at)"
                 " VALUES (?, ?, 'ann', 'clean', 'now')", (queue.id, other))):
            with pytest.raises(sqlite3.IntegrityError):
                c.execute(sql, args)
    finally:
        c.close()
