"""Browsing a run's samples a page at a time, filtered in SQL, so that a person can read the
transcripts of a 100,000-sample run without the store loading them all (the web app's
transcript pages)."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from levelhead.errors import StoreError
from levelhead.records import conversation
from levelhead.store._connection import SQLiteConnection
from levelhead.store._records import BrowsedSample, SampleVerdictRecord

PAGE_MAX = 500
"""The most samples one page may ask for."""

_SELECT = (
    "SELECT s.id, s.run_id, t.name, t.settings_json, p.probe, p.prompt_id, s.sample_index,"
    " s.status, s.text, s.error, s.messages_json, p.messages_json, p.tags_json"
    " FROM samples s JOIN targets t ON t.id = s.target_id JOIN prompts p ON p.id = s.prompt_id")


def _like(text: str) -> str:
    """``text`` as a LIKE pattern that matches it anywhere, its wildcards taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class SampleBrowsing(SQLiteConnection):
    """Pages of a run's samples, filtered, and one sample whole."""

    def sample_page(self, run_id: int, *, probe: str | None = None, prompt: str | None = None,
                    target: str | None = None, judge: str | None = None,
                    label: str | None = None, lang: str | None = None,
                    query: str | None = None, offset: int = 0, limit: int = 50
                    ) -> tuple[list[BrowsedSample], int]:
        """One page of the run's samples that pass every filter given, in the order stored,
        and how many pass in all.

        Raises:
            RunNotFoundError: no such run.
            StoreError: a negative offset, or a limit outside 1..PAGE_MAX.
        """
        run = self.find_run(run_id)
        if offset < 0 or not 1 <= limit <= PAGE_MAX:
            raise StoreError(f"a page starts at 0 or later and holds 1 to {PAGE_MAX} samples "
                             f"(offset {offset}, limit {limit})")
        where = ["s.run_id = ?"]
        args: list[Any] = [run.id]
        for column, value in (("p.probe", probe), ("p.prompt_id", prompt), ("t.name", target)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        if lang is not None:
            where.append("COALESCE(json_extract(p.tags_json, '$.lang'), '') = ?")
            args.append(lang)
        if judge or label:
            cond = ["v.sample_id = s.id"]
            if judge:
                cond.append("j.name = ?")
                args.append(judge)
            if label:
                cond.append("v.label = ?")
                args.append(label)
            where.append("EXISTS (SELECT 1 FROM verdicts v JOIN judges j ON j.id = v.judge_id"
                         f" WHERE {' AND '.join(cond)})")
        if query:
            where.append("(s.text LIKE ? ESCAPE '\\' OR s.error LIKE ? ESCAPE '\\')")
            args += [_like(query), _like(query)]
        clause = " WHERE " + " AND ".join(where)
        base = ("FROM samples s JOIN targets t ON t.id = s.target_id"
                " JOIN prompts p ON p.id = s.prompt_id")
        with self._snapshot():
            total = int(self._conn.execute(f"SELECT COUNT(*) {base}{clause}", args).fetchone()[0])
            rows = self._conn.execute(f"{_SELECT}{clause} ORDER BY s.id LIMIT ? OFFSET ?",
                                      [*args, limit, offset]).fetchall()
            verdicts = self._verdicts_of([r[0] for r in rows])
        return [_browsed(r, verdicts.get(r[0], ())) for r in rows], total

    def browse_sample(self, run_id: int, sample_id: int) -> BrowsedSample:
        """One sample of the run, whole, with every verdict on it.

        Raises:
            RunNotFoundError: no such run.
            StoreError: the run has no such sample.
        """
        run = self.find_run(run_id)
        with self._snapshot():
            row = self._conn.execute(_SELECT + " WHERE s.id = ? AND s.run_id = ?",
                                     (sample_id, run.id)).fetchone()
            if row is None:
                raise StoreError(f"no sample {sample_id} in run '{run.name}'")
            verdicts = self._verdicts_of([sample_id])
        return _browsed(row, verdicts.get(sample_id, ()))

    def _verdicts_of(self, sample_ids: list[int]) -> dict[int, tuple[SampleVerdictRecord, ...]]:
        if not sample_ids:
            return {}
        out: dict[int, list[SampleVerdictRecord]] = defaultdict(list)
        for sid, name, version, args_json, label, score, rationale in self._conn.execute(
                "SELECT v.sample_id, j.name, j.version, j.args_json, v.label, v.score, v.rationale"
                " FROM verdicts v JOIN judges j ON j.id = v.judge_id"
                f" WHERE v.sample_id IN ({','.join('?' * len(sample_ids))})"
                " ORDER BY v.judge_id", sample_ids):
            out[sid].append(SampleVerdictRecord(name, version, args_json, label, score,
                                                rationale or ""))
        return {sid: tuple(v) for sid, v in out.items()}


def _browsed(row: tuple[Any, ...], verdicts: tuple[SampleVerdictRecord, ...]) -> BrowsedSample:
    (sid, run_id, target, settings, probe, prompt_key, k, status, text, error, extra,
     prompt_messages, tags) = row
    messages = conversation(json.loads(settings).get("system"), json.loads(prompt_messages))
    if extra:
        messages.extend(json.loads(extra))
    elif status == "ok" and text is not None:
        messages.append({"role": "assistant", "content": text})
    return BrowsedSample(sid, run_id, target, probe, prompt_key, k, status, text or "",
                         error or "", messages, json.loads(tags), verdicts)
