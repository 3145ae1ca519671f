"""``levelhead store copy``: runs move between a SQLite file and a PostgreSQL database, both ways,
with everything that hangs off them, and read the same in every store they pass through.

A SQLite store is filled by real runs (the contract's ``single`` run: sample and pair verdicts,
error samples; its ``talk`` run: multi-turn conversations with turn verdicts) and a review queue
with reviewers' labels; copied SQLite -> PostgreSQL -> SQLite through the CLI, each run's findings
(``levelhead findings RUN --format json``, with the review queue's calibration) and every read of
its rows are identical in all three stores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import _postgres_server
import pytest
from click.testing import CliRunner, Result
from test_store_contract import SINGLE, TALK

from levelhead import run_audit
from levelhead.cli import cli
from levelhead.spec import spec_from_dict
from levelhead.store import Store, open_store


def _cli(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _pg(folder: Path) -> str:
    return _postgres_server.server().database_url(folder, create=True)


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite store with the runs ``single`` and ``talk`` and a review queue of ``single``."""
    path = str(tmp_path_factory.mktemp("original") / "s.db")
    store = open_store(path)
    try:
        assert run_audit(spec_from_dict(SINGLE), store).complete
        assert run_audit(spec_from_dict(TALK), store).complete
        run = store.find_run("single")
        lexicon = next(v for v in store.verdict_table(run.id) if v.judge == "abuse.lexicon")
        judge_id = store.ensure_judge(lexicon.judge, lexicon.judge_version, lexicon.judge_args)
        good = store.stored_samples(run.id)
        strata = [("abusive" if "idiot" in s.text else "clean") for s in good]
        design = {"seed": 1, "size": len(good), "strata": {
            h: {"N": strata.count(h), "n": strata.count(h)} for h in set(strata)}}
        queue = store.create_review_queue(
            run.id, "spot", judge_id, ["abusive", "clean"], design,
            [(s.sample_id, h, 1.0) for s, h in zip(good, strata, strict=True)])
        for i, s in enumerate(good):
            store.add_review_label(queue.id, s.sample_id, "ann", "clean" if i == 0 else
                                   "abusive" if "idiot" in s.text else "clean", note=f"n{i}")
        store.add_review_label(queue.id, good[1].sample_id, "bob", "clean")
        assert store.undo_review_label(queue.id, "bob") is not None
    finally:
        store.close()
    return path


def _findings(store: str, run: str) -> Any:
    args = ["--store", store, "findings", run, "--format", "json"]
    result = _cli(*args, *(["--review", "spot"] if run == "single" else []))
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _reads(path: str, run_name: str) -> dict[str, Any]:
    """Every read of a run's rows, with the row ids (which differ between stores) left out."""
    store: Store = open_store(path, read_only=True)
    try:
        run = store.find_run(run_name)
        out: dict[str, Any] = {
            "run": (run.name, run.created_at, run.spec, run.seed, run.samples, run.planned),
            "samples": [s.model_dump() for s in store.iter_samples(run.id)],
            "tags": [t.tags for t in store.samples_with_tags(run.id)],
            "summary": store.summary(run.id),
            "verdicts": store.verdict_table(run.id),
            "pairs": store.pair_verdict_table(run.id),
            "turns": store.turn_table(run.id),
            "turn_verdicts": store.turn_verdict_table(run.id),
            "progress": store.progress(run.id),
            "stored": [(s.target, s.probe, s.prompt_key, s.sample_index, s.text, s.messages)
                       for s in store.stored_samples(run.id)],
            "queues": [], "items": [], "labels": []}
        for queue in store.review_queues(run.id):
            out["queues"].append((queue.name, queue.labels, queue.design, queue.created_at,
                                  queue.items, queue.labelled))
            out["items"] += [(i.position, i.stratum, i.inclusion_prob, i.target, i.probe,
                              i.prompt_id, i.sample_index) for i in store.review_items(queue.id)]
            out["labels"] += [(lab.reviewer, lab.label, lab.note, lab.created_at, lab.undone)
                              for lab in store.review_labels(queue.id, history=True)]
        return out
    finally:
        store.close()


def test_a_round_trip_through_postgresql_reads_and_finds_the_same(original: str,
                                                                 tmp_path: Path) -> None:
    pg, back = _pg(tmp_path / "pg"), str(tmp_path / "back.db")
    there = _cli("store", "copy", original, pg)
    assert there.exit_code == 0, there.output
    assert ("copied run 'single' (id 1 in SRC, id 1 in DST): 2 targets, 2 prompts, 2 judges, "
            "8 samples, 4 verdicts, 2 pair verdicts, 0 turns, 0 turn verdicts, 1 review queues, "
            "4 review items, 5 review labels; the counts match in both stores") in there.output
    assert "copied run 'talk' (id 2 in SRC, id 2 in DST)" in there.output
    home = _cli("store", "copy", pg, back)
    assert home.exit_code == 0, home.output
    for run in ("single", "talk"):
        first = _findings(original, run)
        assert first and _findings(pg, run) == first == _findings(back, run)
        reads = _reads(original, run)
        assert _reads(pg, run) == reads == _reads(back, run)
    talk = _reads(back, "talk")
    assert len(talk["turns"]) == 6 and len(talk["turn_verdicts"]) == 6
    assert [lab[4] for lab in _reads(back, "single")["labels"]].count(True) == 1


def test_a_run_name_already_in_the_destination_is_refused_and_nothing_changes(
        original: str, tmp_path: Path) -> None:
    pg = _pg(tmp_path / "pg")
    assert _cli("store", "copy", original, pg, "--run", "talk").exit_code == 0
    again = _cli("store", "copy", original, pg, "--run", "single", "--run", "talk")
    assert again.exit_code != 0
    lines = again.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: run 'talk' already exists in "
                                                   "postgresql://")
    store = open_store(pg, read_only=True)
    try:  # refused before anything was copied: 'single' is not there either
        assert [r.name for r in store.list_runs()] == ["talk"]
    finally:
        store.close()


def test_only_the_runs_named_are_copied_into_a_new_sqlite_file(original: str,
                                                               tmp_path: Path) -> None:
    pg, back = _pg(tmp_path / "pg"), str(tmp_path / "new" / "back.db")
    (tmp_path / "new").mkdir()
    assert _cli("store", "copy", original, pg).exit_code == 0
    result = _cli("--store", "ignored.db", "store", "copy", pg, back, "--run", "talk", "-q")
    assert result.exit_code == 0, result.output
    assert result.output.count("copied run") == 1 and "'talk'" in result.output
    runs = _cli("--store", back, "runs")
    assert "talk" in runs.output and "single" not in runs.output
    missing = _cli("store", "copy", original, str(tmp_path / "x.db"), "--run", "nope")
    assert missing.exit_code != 0 and "no run 'nope'" in missing.output
    assert not (tmp_path / "x.db").exists()  # a refused copy leaves no empty store behind
    before = Path(original).stat().st_mtime_ns
    same = _cli("store", "copy", original, original)
    assert same.exit_code != 0 and "both the source and the destination" in same.output
    assert Path(original).stat().st_mtime_ns == before  # not opened for writing, not migrated
