"""The reads that build records: runs and their progress, per-prompt summaries, samples with
their transcripts, turns and verdicts, named from the run's small tables."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from levelhead.records import RunInfo, Sample, conversation
from levelhead.store._lease_rows import LeaseRows
from levelhead.store._records import (
    PairVerdictRecord,
    PromptProgress,
    RunProgress,
    StoredSample,
    StoredTurn,
    TaggedSample,
    TargetPromptSummary,
    TurnRecord,
    TurnVerdictRecord,
    VerdictRecord,
)

#: Rows a read that may be long (every sample of a run) fetches at a time.
PAGE = 5000
class RecordReads(LeaseRows):
    """Every read of a run's rows. It builds on the lease rows: a run's progress and the list
    of runs say who holds each run's lease."""

    # -- runs --------------------------------------------------------------------------------
    def progress(self, run_id: int) -> RunProgress:
        """What of the run's plan is stored: every target x prompt, with its samples below N."""
        run = self.find_run(run_id)
        rows = self._conn.execute(
            "SELECT t.name, p.probe, p.prompt_id, COUNT(s.id),"
            " COALESCE(SUM(s.status = 'error'), 0) FROM targets t"
            " JOIN prompts p ON p.run_id = t.run_id"
            " LEFT JOIN samples s ON s.target_id = t.id AND s.prompt_id = p.id"
            " AND s.sample_index < ? WHERE t.run_id = ? GROUP BY t.id, p.id ORDER BY t.id, p.id",
            (run.samples, run.id)).fetchall()
        return RunProgress(run.name, run.samples, tuple(PromptProgress(*r) for r in rows),
                           self.lease_of(run.id))

    def list_runs(self) -> list[RunInfo]:
        """Every run, newest first, with its progress."""
        rows = self._conn.execute(
            "SELECT r.id, r.name, r.created_at, r.planned,"
            " (SELECT COUNT(*) FROM samples s WHERE s.run_id = r.id),"
            " (SELECT COUNT(*) FROM samples s WHERE s.run_id = r.id AND s.status = 'error'),"
            " (SELECT group_concat(name, ',') FROM targets t WHERE t.run_id = r.id)"
            " FROM runs r ORDER BY r.id DESC").fetchall()
        live = self._live_leases()
        return [RunInfo(id=r[0], name=r[1], created_at=r[2], planned=r[3], done=r[4], errors=r[5],
                        targets=(r[6] or "").split(",") if r[6] else [], running=live.get(r[0]))
                for r in rows]

    def summary(self, run_id: int) -> list[TargetPromptSummary]:
        """Per target x prompt: counts, errors, median latency and tokens."""
        groups: dict[tuple[str, str, str], list[tuple[Any, ...]]] = defaultdict(list)
        query = (
            "SELECT t.name, p.probe, p.prompt_id, s.status, s.latency_ms, s.prompt_tokens,"
            " s.completion_tokens FROM samples s JOIN targets t ON t.id = s.target_id"
            " JOIN prompts p ON p.id = s.prompt_id WHERE s.run_id = ? ORDER BY t.id, p.id")
        for row in self._conn.execute(query, (run_id,)):
            groups[(row[0], row[1], row[2])].append(row[3:])
        out = []
        for (target, probe, prompt_id), rows in groups.items():
            ok = [r for r in rows if r[0] == "ok"]
            lat = [r[1] for r in ok if r[1] is not None]
            comp = [r[3] for r in ok if r[3] is not None]
            out.append(TargetPromptSummary(
                target=target, probe=probe, prompt_id=prompt_id, samples=len(rows),
                errors=len(rows) - len(ok),
                median_latency_ms=statistics.median(lat) if lat else None,
                prompt_tokens=sum(r[2] or 0 for r in rows),
                completion_tokens=sum(r[3] or 0 for r in rows),
                median_completion_tokens=statistics.median(comp) if comp else None,
            ))
        return out

    def samples_with_tags(self, run_id: int) -> Iterator[TaggedSample]:
        """Every sample of the run (as :meth:`iter_samples`) with its prompt's tags."""
        tags = {(probe, pid): json.loads(t) for probe, pid, t in self._conn.execute(
            "SELECT probe, prompt_id, tags_json FROM prompts WHERE run_id = ?", (run_id,))}
        for sample in self.iter_samples(run_id):
            yield TaggedSample(sample, tags[(sample.probe, sample.prompt_id)])

    def iter_samples(self, run_id: int) -> Iterator[Sample]:
        """Every sample of a run with its whole transcript, in target/prompt/index order."""
        run = self.find_run(run_id)
        systems, names = self._targets_of(run_id)
        prompts: dict[int, tuple[str, str, list[dict[str, str]]]] = {}
        for pid, probe, prompt_id, messages in self._conn.execute(
                "SELECT id, probe, prompt_id, messages_json FROM prompts WHERE run_id = ?",
                (run_id,)):
            prompts[pid] = (probe, prompt_id, json.loads(messages))
        for (tid, pid, k, status, text, extra, latency, finish, error, seed, ptok, ctok, attempts,
             created) in self._sample_pages(run_id):
            probe, prompt_id, turns = prompts[pid]
            messages = conversation(systems[tid], turns)
            if extra:
                messages.extend(json.loads(extra))
            elif status == "ok" and text is not None:
                messages.append({"role": "assistant", "content": text})
            yield Sample(
                run=run.name, target=names[tid], probe=probe, prompt_id=prompt_id,
                sample_index=k, status=status, text=text, messages=messages,
                latency_ms=latency, finish_reason=finish, error=error, seed=seed,
                prompt_tokens=ptok, completion_tokens=ctok, attempts=attempts,
                created_at=datetime.fromtimestamp(created / 1000, UTC).isoformat(timespec="milliseconds"),
            )

    def _sample_pages(self, run_id: int) -> Iterator[tuple[Any, ...]]:
        """The run's sample rows for :meth:`iter_samples`, in target/prompt/index order, a page
        at a time (each after the last key of the one before): a server store sends a page, not
        the whole run, so a million samples are read in flat memory on either store."""
        cols = ("SELECT target_id, prompt_id, sample_index, status, text, messages_json,"
                " latency_ms, finish_reason, error, seed, prompt_tokens, completion_tokens,"
                " attempts, created_ms FROM samples WHERE run_id = ?")
        order = " ORDER BY target_id, prompt_id, sample_index LIMIT ?"
        rows = self._conn.execute(cols + order, (run_id, PAGE)).fetchall()
        while True:
            yield from rows
            if len(rows) < PAGE:
                return
            tid, pid, k = rows[-1][:3]
            # A row-value comparison: both stores seek the (target, prompt, index) key there.
            rows = self._conn.execute(
                cols + " AND (target_id, prompt_id, sample_index) > (?, ?, ?)" + order,
                (run_id, tid, pid, k, PAGE)).fetchall()

    # -- samples and verdicts ----------------------------------------------------------------
    def _targets_of(self, run_id: int) -> tuple[dict[int, str | None], dict[int, str]]:
        systems: dict[int, str | None] = {}
        names: dict[int, str] = {}
        for tid, name, settings in self._conn.execute(
                "SELECT id, name, settings_json FROM targets WHERE run_id = ?", (run_id,)):
            systems[tid] = json.loads(settings).get("system")
            names[tid] = name
        return systems, names

    _STORED = ("SELECT s.id, s.target_id, s.prompt_id, s.sample_index, s.text, s.messages_json,"
               " p.probe, p.prompt_id, p.messages_json, p.tags_json"
               " FROM samples s JOIN prompts p ON p.id = s.prompt_id")

    def samples_to_judge(self, run_id: int, judge_id: int,
                         probes: set[str] | None = None) -> Iterator[StoredSample]:
        """The run's good samples that have no verdict yet from this judge identity (a
        ``judge_error`` verdict counts as none, so it is judged again)."""
        systems, names = self._targets_of(run_id)
        # A page at a time, each after the last sample id of the one before: the memory stays
        # flat over a million samples, and verdicts written meanwhile (on the writer's
        # connection) are on samples of earlier pages.
        last = 0
        while True:
            rows = self._conn.execute(
                self._STORED + " WHERE s.run_id = ? AND s.status = 'ok' AND s.id > ?"
                " AND NOT EXISTS (SELECT 1 FROM verdicts v WHERE v.sample_id = s.id"
                " AND v.judge_id = ? AND v.label != 'judge_error') ORDER BY s.id LIMIT ?",
                (run_id, last, judge_id, PAGE)).fetchall()
            for row in rows:
                if probes is None or row[6] in probes:
                    yield _sample_from_row(row, systems, names)
            if len(rows) < PAGE:
                return
            last = rows[-1][0]

    def stored_samples(self, run_id: int, probes: set[str] | None = None) -> list[StoredSample]:
        """Every good sample of the run (for pairing)."""
        systems, names = self._targets_of(run_id)
        rows = self._conn.execute(self._STORED + " WHERE s.run_id = ? AND s.status = 'ok'"
                                  " ORDER BY s.id", (run_id,)).fetchall()
        return [_sample_from_row(r, systems, names) for r in rows
                if probes is None or r[6] in probes]

    def probes_of(self, run_id: int) -> list[str]:
        """The probe ids of a run."""
        return [r[0] for r in self._conn.execute(
            "SELECT DISTINCT probe FROM prompts WHERE run_id = ? ORDER BY probe", (run_id,))]

    def judged_pairs(self, judge_id: int) -> set[tuple[int, int]]:
        """Pairs of sample ids this judge identity has a (non-error) verdict on."""
        return {(a, b) for a, b in self._conn.execute(
            "SELECT sample_a, sample_b FROM pair_verdicts WHERE judge_id = ?"
            " AND label != 'judge_error'", (judge_id,))}

    def verdict_table(self, run_id: int) -> list[VerdictRecord]:
        """Every verdict on the run's samples, by judge, target, prompt and sample index."""
        with self._snapshot():
            names = self._names_of(run_id)
            return [VerdictRecord(names.targets[tid], *names.prompts[pid], k, *names.judges[jid],
                                  label, score)
                    for tid, pid, k, jid, label, score in self._conn.execute(
                "SELECT s.target_id, s.prompt_id, s.sample_index, v.judge_id, v.label, v.score"
                " FROM verdicts v JOIN samples s ON s.id = v.sample_id WHERE s.run_id = ?"
                " ORDER BY v.judge_id, s.target_id, s.prompt_id, s.sample_index", (run_id,))]

    def pair_verdict_table(self, run_id: int) -> list[PairVerdictRecord]:
        """Every pair verdict on the run's samples, in the order stored."""
        return [PairVerdictRecord(*row) for row in self._conn.execute(
            "SELECT ta.name, pa.probe, pa.prompt_id, tb.name, pb.prompt_id, sa.sample_index,"
            " j.name, j.version, j.args_json, v.label, v.score, v.extra_json FROM pair_verdicts v"
            " JOIN samples sa ON sa.id = v.sample_a JOIN samples sb ON sb.id = v.sample_b"
            " JOIN targets ta ON ta.id = sa.target_id JOIN targets tb ON tb.id = sb.target_id"
            " JOIN prompts pa ON pa.id = sa.prompt_id JOIN prompts pb ON pb.id = sb.prompt_id"
            " JOIN judges j ON j.id = v.judge_id WHERE sa.run_id = ? ORDER BY v.id",
            (run_id,))]

    # -- multi-turn conversations ------------------------------------------------------------
    def stored_turns(self, target_id: int) -> dict[tuple[int, int], list[StoredTurn]]:
        """The turns stored for a target's unfinished and finished conversations, by (prompt
        row id, sample index), in turn order, each with its verdicts (judge id -> label)."""
        labels: dict[int, dict[int, str]] = defaultdict(dict)
        for turn_id, judge_id, label in self._conn.execute(
                "SELECT v.turn_id, v.judge_id, v.label FROM turn_verdicts v"
                " JOIN turns t ON t.id = v.turn_id WHERE t.target_id = ?", (target_id,)):
            labels[turn_id][judge_id] = label
        out: dict[tuple[int, int], list[StoredTurn]] = defaultdict(list)
        for tid, pid, k, turn, user, status, text, ptok, ctok in self._conn.execute(
                "SELECT id, prompt_id, sample_index, turn, user_text, status, text,"
                " prompt_tokens, completion_tokens FROM turns WHERE target_id = ?"
                " ORDER BY prompt_id, sample_index, turn", (target_id,)):
            out[(pid, k)].append(StoredTurn(turn, user, status, text, ptok, ctok,
                                            labels.get(tid, {})))
        return dict(out)

    def turn_tokens(self, run_id: int) -> int:
        """Tokens spent on the run's stored turns (prompt + completion, as the targets said)."""
        row = self._conn.execute(
            "SELECT COALESCE(SUM(COALESCE(prompt_tokens, 0) + COALESCE(completion_tokens, 0)), 0)"
            " FROM turns WHERE run_id = ?", (run_id,)).fetchone()
        return int(row[0])

    def turn_table(self, run_id: int) -> list[TurnRecord]:
        """Every stored turn of the run, by target, prompt, sample index and turn; the turns of
        one prompt share one tags dict."""
        with self._snapshot():
            names = self._names_of(run_id)
            return [TurnRecord(names.targets[tid], *names.prompts[pid], k, turn, user, status,
                               text, error, ptok, ctok, latency, names.tags[pid], finish)
                    for (tid, pid, k, turn, user, status, text, error, ptok, ctok,
                         latency, finish) in self._conn.execute(
                "SELECT target_id, prompt_id, sample_index, turn, user_text, status, text, error,"
                " prompt_tokens, completion_tokens, latency_ms, finish_reason FROM turns"
                " WHERE run_id = ?"
                " ORDER BY target_id, prompt_id, sample_index, turn", (run_id,))]

    def turn_verdict_table(self, run_id: int) -> list[TurnVerdictRecord]:
        """Every verdict on the run's turns, by judge, target, prompt, sample index and turn."""
        with self._snapshot():
            names = self._names_of(run_id)
            return [TurnVerdictRecord(names.targets[tid], *names.prompts[pid], k, turn,
                                      *names.judges[jid], label, score)
                    for tid, pid, k, turn, jid, label, score in self._conn.execute(
                "SELECT u.target_id, u.prompt_id, u.sample_index, u.turn, v.judge_id, v.label,"
                " v.score FROM turn_verdicts v JOIN turns u ON u.id = v.turn_id"
                " WHERE u.run_id = ?"
                " ORDER BY v.judge_id, u.target_id, u.prompt_id, u.sample_index, u.turn",
                (run_id,))]

    # The bulk reads (a row per verdict or turn: millions in a large run) select ids and name
    # them from these small tables, so that each name is one shared string.
    def _names_of(self, run_id: int) -> _RunNames:
        targets = dict(self._conn.execute("SELECT id, name FROM targets WHERE run_id = ?",
                                          (run_id,)).fetchall())
        prompts: dict[int, tuple[str, str]] = {}
        tags: dict[int, dict[str, str]] = {}
        for pid, probe, prompt_id, tags_json in self._conn.execute(
                "SELECT id, probe, prompt_id, tags_json FROM prompts WHERE run_id = ?",
                (run_id,)):
            prompts[pid] = (probe, prompt_id)
            tags[pid] = json.loads(tags_json)
        judges = {jid: (name, version, args) for jid, name, version, args in self._conn.execute(
            "SELECT id, name, version, args_json FROM judges")}
        return _RunNames(targets, prompts, tags, judges)


@dataclass(frozen=True, slots=True)
class _RunNames:
    """The names of a run's targets, prompts (probe, prompt id; tags) and of the judges, by
    row id."""

    targets: dict[int, str]
    prompts: dict[int, tuple[str, str]]
    tags: dict[int, dict[str, str]]
    judges: dict[int, tuple[str, str, str]]


def _sample_from_row(row: tuple[Any, ...], systems: dict[int, str | None],
                     names: dict[int, str]) -> StoredSample:
    sid, tid, pid, k, text, extra, probe, prompt_key, messages_json, tags_json = row
    messages = conversation(systems[tid], json.loads(messages_json))
    if extra:
        messages.extend(json.loads(extra))
    else:
        messages.append({"role": "assistant", "content": text or ""})
    return StoredSample(sid, tid, names[tid], pid, probe, prompt_key, k, text or "", messages,
                        json.loads(tags_json))
