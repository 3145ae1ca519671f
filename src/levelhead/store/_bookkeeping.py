"""Run bookkeeping: the rows that say what a run is (its spec, seed and N, its targets, prompts
and judges) and the checks that keep a resume from mixing samples of another design."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from collections.abc import Set as AbstractSet
from typing import Any

from levelhead._version import __version__
from levelhead.errors import SpecError
from levelhead.records import Prompt, dump_turns
from levelhead.store._connection import SQLiteConnection, timestamp
from levelhead.store._records import RunRecord

#: (prompt, index) pairs :meth:`RunBookkeeping.existing_indices` fetches at a time.
_INDEX_PAGE = 50_000


class IndexSet(AbstractSet[int]):
    """A set of sample indices (non-negative ints) as a bitmap: a bit an index up to the
    largest, so one prompt's million stored samples take 125 KB. Compares equal to a ``set``
    of the same indices."""

    __slots__ = ("_bits", "_count")

    def __init__(self, indices: Iterable[int] = ()) -> None:
        self._bits = bytearray()
        self._count = 0
        for k in indices:
            self.add(k)

    def add(self, k: int) -> None:
        byte, bit = divmod(k, 8)
        if byte >= len(self._bits):
            self._bits.extend(bytes(max(byte + 1 - len(self._bits), len(self._bits))))
        if not self._bits[byte] >> bit & 1:
            self._bits[byte] |= 1 << bit
            self._count += 1

    def __contains__(self, k: object) -> bool:
        if not isinstance(k, int) or k < 0:
            return False
        byte, bit = divmod(k, 8)
        return byte < len(self._bits) and bool(self._bits[byte] >> bit & 1)

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[int]:
        for byte, value in enumerate(self._bits):
            if value:
                for bit in range(8):
                    if value >> bit & 1:
                        yield byte * 8 + bit

    def __repr__(self) -> str:
        return f"IndexSet({sorted(self)!r})"


class RunBookkeeping(SQLiteConnection):
    """Creating and finding again runs, targets, prompts and judge identities."""

    def begin_run(self, name: str, spec: dict[str, Any], seed: int, samples: int) -> RunRecord:
        """The run called ``name``: created, or found again to resume.

        A resume must keep the seed and may raise N but not lower it (samples beyond the new N
        would stay in the run). Nothing about an existing run is changed here: see
        :meth:`update_run`, called once every check has passed.
        """
        row = self._conn.execute("SELECT id FROM runs WHERE name = ?", (name,)).fetchone()
        if row is not None:
            run = self.find_run(row[0])
            if run.seed != seed:
                raise SpecError(
                    f"run '{name}' exists with seed {run.seed}, not {seed}; resume it with the "
                    f"same seed or give this run another name (--run-name)")
            if samples < run.samples:
                raise SpecError(
                    f"run '{name}' has {run.samples} samples per prompt; a resume may raise N but "
                    f"not lower it to {samples} (give this run another name: --run-name)")
            return RunRecord(run.id, run.name, run.created_at, run.spec, seed, run.samples,
                             run.planned, resumed=True)
        cur = self._conn.execute(
            "INSERT INTO runs (name, created_at, spec_json, seed, samples, version)"
            " VALUES (?,?,?,?,?,?)",
            (name, timestamp(), json.dumps(spec), seed, samples, __version__))
        return RunRecord(int(cur.lastrowid or 0), name, timestamp(), spec, seed, samples, 0)

    def update_run(self, run_id: int, spec: dict[str, Any], samples: int) -> int:
        """Record the spec and N a run now follows; returns the samples it is to hold in all:
        every prompt of the run for every target of the run, N times (targets or prompts left
        out of a later spec still count, so the run shows as incomplete rather than done)."""
        targets = self._conn.execute("SELECT COUNT(*) FROM targets WHERE run_id = ?",
                                     (run_id,)).fetchone()[0]
        prompts = self._conn.execute("SELECT COUNT(*) FROM prompts WHERE run_id = ?",
                                     (run_id,)).fetchone()[0]
        planned = targets * prompts * samples
        self._conn.execute("UPDATE runs SET spec_json = ?, samples = ?, planned = ? WHERE id = ?",
                           (json.dumps(spec), samples, planned, run_id))
        return int(planned)

    def ensure_target(self, run_id: int, name: str, kind: str, settings: dict[str, Any],
                      settings_hash: str) -> int:
        """The id of the run's target ``name``; refuses a resume with other reply settings."""
        row = self._conn.execute(
            "SELECT id, settings_hash, settings_json FROM targets WHERE run_id = ? AND name = ?",
            (run_id, name)).fetchone()
        if row is None:
            cur = self._conn.execute(
                "INSERT INTO targets (run_id, name, kind, settings_json, settings_hash)"
                " VALUES (?,?,?,?,?)", (run_id, name, kind, json.dumps(settings), settings_hash))
            return int(cur.lastrowid or 0)
        if row[1] != settings_hash:
            old = json.loads(row[2])
            changed = sorted(k for k in set(old) | set(settings) if old.get(k) != settings.get(k))
            raise SpecError(
                f"target '{name}' of this run was sampled with other settings "
                f"({', '.join(changed)} changed); samples with different settings must not mix: "
                f"restore them or start a new run (--run-name)")
        self._conn.execute("UPDATE targets SET settings_json = ? WHERE id = ?",
                           (json.dumps(settings), row[0]))
        return int(row[0])

    def ensure_prompts(self, run_id: int, probe: str, prompts: list[Prompt]) -> dict[str, int]:
        """Row ids of the probe's prompts in this run, inserting new ones.

        Raises:
            SpecError: a prompt id already stored with other messages.
        """
        existing = {
            r[0]: (r[1], r[2]) for r in self._conn.execute(
                "SELECT prompt_id, id, messages_json FROM prompts WHERE run_id = ? AND probe = ?",
                (run_id, probe))
        }
        ids: dict[str, int] = {}
        with self.transaction():
            for p in prompts:
                messages = json.dumps(dump_turns(p.messages), ensure_ascii=False)
                if p.id in existing:
                    rowid, old = existing[p.id]
                    if old != messages:
                        raise SpecError(
                            f"prompt '{probe}/{p.id}' of this run was sampled with other text; "
                            f"give the changed prompt a new id or start a new run (--run-name)")
                    ids[p.id] = rowid
                    continue
                cur = self._conn.execute(
                    "INSERT INTO prompts (run_id, probe, prompt_id, messages_json, tags_json)"
                    " VALUES (?,?,?,?,?)",
                    (run_id, probe, p.id, messages, json.dumps(p.tags, ensure_ascii=False)))
                ids[p.id] = int(cur.lastrowid or 0)
        return ids

    def ensure_judge(self, name: str, version: str, args_json: str) -> int:
        """The id of a judge identity (name, version, arguments), created if new."""
        self._conn.execute("INSERT OR IGNORE INTO judges (name, version, args_json) VALUES (?,?,?)",
                           (name, version, args_json))
        row = self._conn.execute(
            "SELECT id FROM judges WHERE name = ? AND version = ? AND args_json = ?",
            (name, version, args_json)).fetchone()
        return int(row[0])

    def existing_indices(self, target_id: int) -> dict[int, AbstractSet[int]]:
        """Sample indices already stored for a target, by prompt row id (errors included).

        Read in pages along the samples' (target, prompt, index) key, so that a server store
        never sends a million rows at once, each prompt's indices a bitmap (:class:`IndexSet`:
        a resume of one prompt of 1,000,000 samples holds 125 KB, not a million ints)."""
        out: dict[int, IndexSet] = defaultdict(IndexSet)
        last: tuple[int, int] = (-1, -1)
        while True:
            rows = self._conn.execute(
                "SELECT prompt_id, sample_index FROM samples WHERE target_id = ?"
                " AND (prompt_id, sample_index) > (?, ?) ORDER BY prompt_id, sample_index LIMIT ?",
                (target_id, *last, _INDEX_PAGE)).fetchall()
            for prompt_id, k in rows:
                out[prompt_id].add(k)
            if len(rows) < _INDEX_PAGE:
                return dict(out)
            last = rows[-1]

    def count_samples(self, run_id: int) -> int:
        """Samples stored for the run, errors included."""
        return int(self._conn.execute("SELECT COUNT(*) FROM samples WHERE run_id = ?",
                                      (run_id,)).fetchone()[0])

    def delete_error_samples(self, run_id: int) -> int:
        """Remove the run's error samples so that a resume samples them again (and the failed
        turns of conversations, which resume from their last good turn)."""
        cur = self._conn.execute("DELETE FROM samples WHERE run_id = ? AND status = 'error'",
                                 (run_id,))
        self._conn.execute("DELETE FROM turns WHERE run_id = ? AND status = 'error'", (run_id,))
        return cur.rowcount
