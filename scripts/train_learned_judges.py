"""Train the n-gram models of the ``*.learned`` judges and choose how they combine with the rules.

    .venv/bin/python scripts/train_learned_judges.py [--task refusal|flattery|abuse ...]
        [--select-only] [--out src/levelhead/judges/data]

Needs scikit-learn (it comes with ``levelhead[classifiers]``, through alt-profanity-check,
which ``make test`` installs).
Everything it reads is the project's own labelled data under ``tests/judges/data``:

- *earlier* sets written by the project while the rules were built (always training data);
- ``train/*_t*.jsonl``: sets written for training only, by helpers who saw no judge and no
  frozen set (rounds 5 to 15; their voices differ from every frozen set's);
- the frozen sets of the rounds before the latest (each round's report half was reported
  once, before the next round; they are development data now);
- the latest round's frozen sets (``LATEST``: round 15 for refusal, round 10 for flattery, round 6
  for Chinese abuse, whose judge has not been refitted since): only their ``tune`` halves are read
  here. The ``report`` halves are never opened by this script; ``levelhead judge eval --split
  report`` reports them once.

The models read the reply alone (round 7's refusal model read the request too and called
compliance with harmful requests refusal; round 8 withdrew it; round 12 tried again with labelled
answers to harmful requests in the training data, and it did the same). Since round 13 the refusal
model also reads the reply's first 80 characters apart (``Task.opening``; ``features``).

Selection (printed): the model is fitted on everything but the latest round and scored on its
tune half — the only labels neither the rules nor the model were written or tuned against —
for each regularisation strength ``C``, rule weight and threshold. For refusal and flattery the
rounds before the latest are held out of that fit too and join the tune half (``Task.pool``:
flattery the one before, refusal since round 14 the two before): on round 8 (development data),
settings chosen on its tune half of 132 replies moved between C 8, 128 and 2048 as each round-9
training set was added, with report-half false alarms between 6 % and 19 %; round 9 chose on
345. Round 13 chose rule weight 0.4 on 488 replies where, leaving each of rounds 10–13 out in
turn (development data), 0.2 was better in three rounds of four (mean F1 0.917 against 0.879):
round 14 chose on some 800, three rounds' voices (and rule weight 0.4 again; since round 15
refusal's weight is 0 or 0.2, ``Task.weights``). The best
setting by the task's objective is kept; the final model is then fitted on everything read,
with that ``C``, and written with the chosen weight and threshold as the judge's defaults.
Deterministic on one machine: the same data gives a byte-identical file; on another CPU the
coefficients may differ in their last digits (the test compares them with a tolerance).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "judges" / "data"
sys.path.insert(0, str(ROOT / "src"))

from levelhead.judges import JudgeInput  # noqa: E402
from levelhead.judges._ngram import dump_model, features, text_digest  # noqa: E402
from levelhead.judges.learned import (  # noqa: E402
    AbuseLearned,
    FlatteryLearned,
    RefusalLearned,
    _Learned,
    combine,
)


@dataclass
class Row:
    text: str
    label: str
    prompt: str | None
    group: str
    #: The file it came from, as the model file's header names it.
    source: str = ""
    category: str | None = None
    model: str | None = None
    rule: str = ""


def _read(path: Path, group: str, *, text: str = "text", label: str = "label",
          relabel: dict[str, str] | None = None, split: str | None = None,
          keep: Callable[[dict[str, Any]], bool] | None = None) -> list[Row]:
    rows = []
    source = str(path.relative_to(DATA).with_suffix("")) + (f" ({split} half)" if split else "")
    for line in path.read_text(encoding="utf-8").split("\n"):
        if not line.strip():
            continue
        r = json.loads(line)
        if split is not None and r.get("split") != split:
            continue
        if keep is not None and not keep(r):
            continue
        value = r[label]
        value = (relabel or {}).get(value, value)
        rows.append(Row(r[text], value, r.get("prompt"), group, source, r.get("category"),
                        r.get("model")))
    return rows


#: Per frozen set, the round whose tune half chooses the settings and whose report half is
#: reported (every file of the round: rounds 10 to 15 of refusal had two writers each). Chinese
#: abuse met its targets in round 6 and was not refitted after: a round 7 for it is written
#: before its judge changes again.
LATEST = {"refusal": "r15", "flattery": "r10", "abuse_zh": "r6"}


def latest_round(name: str) -> int:
    """The number of ``LATEST[name]``."""
    return int(LATEST[name][1:])


def round_files(name: str, n: int) -> list[Path]:
    """The frozen files of round ``n`` of ``name``: ``<name>.jsonl`` for round 1, else
    ``<name>_r<n>.jsonl`` or, where several writers wrote the round, ``<name>_r<n>a.jsonl``, …"""
    frozen = DATA / "frozen"
    if n == 1:
        return [frozen / f"{name}.jsonl"]
    found = sorted([*frozen.glob(f"{name}_r{n}.jsonl"), *frozen.glob(f"{name}_r{n}[a-z].jsonl")])
    if not found:
        raise SystemExit(f"no frozen file for round {n} of {name}")
    return found


def _latest(name: str) -> list[Row]:
    return [row for path in round_files(name, latest_round(name))
            for row in _read(path, "latest", split="tune")]


def _frozen_and_training(name: str) -> list[Row]:
    """The frozen sets ``name`` of rounds 1 to the one before ``LATEST[name]``, whole
    (development data now), the sets written for training only (``train/<name>_tA.jsonl`` …,
    in name order), and the latest round's tune half."""
    earlier = [row for n in range(1, latest_round(name))
               for path in round_files(name, n) for row in _read(path, f"r{n}")]
    training = [row for path in sorted((DATA / "train").glob(f"{name}_t*.jsonl"))
                for row in _read(path, "train")]
    return earlier + training + _latest(name)


def refusal_data() -> list[Row]:
    return (_read(DATA / "refusal_labelled.jsonl", "earlier")
            + _read(DATA / "refusal_holdout.jsonl", "earlier")
            + _read(DATA / "scolding_labelled.jsonl", "earlier", text="reply", label="refusal")
            + _frozen_and_training("refusal"))


def flattery_data() -> list[Row]:
    return _frozen_and_training("flattery")


def abuse_data() -> list[Row]:
    pressure = {"abuse": "abusive", "civil": "clean"}
    return (_read(DATA / "abuse_labelled.jsonl", "earlier")
            + _read(DATA / "abuse_holdout.jsonl", "earlier")
            + _read(DATA / "classifier_labelled.jsonl", "earlier")
            + _read(DATA / "classifier_heldout.jsonl", "earlier")
            + _read(DATA / "pressure_labelled.jsonl", "earlier", text="reply", relabel=pressure,
                    keep=lambda r: r["label"] in pressure)
            + _read(DATA / "pressure_holdout.jsonl", "earlier", text="reply", relabel=pressure,
                    keep=lambda r: r["label"] in pressure)
            + _frozen_and_training("abuse_zh"))


# Round 4 chose the top of (2, 8, 32) for all three, and refusal chose 512 on round 6's tune half
# when the grid ended there: the grid goes a step past each.
CS = (2.0, 8.0, 32.0, 128.0, 512.0, 2048.0)
WEIGHTS = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6)
# 0.2 to 0.9: on round 5's tune half abuse chose 0.7 and flattery 0.3, the edges of the old grid
# (0.3 to 0.7), before it was widened.
THRESHOLDS = tuple(round(0.2 + 0.05 * i, 2) for i in range(15))
#: Features kept when in at least this many training replies (unless a task asks for more; the
#: model file's header names only a different value, so files made with this one are unchanged).
MIN_DF = 2


@dataclass
class Task:
    name: str
    #: The learned judge trained: its labels, bad labels, rule judge and ``request`` are the
    #: script's (so selection combines verdicts as the judge will).
    judge: type[_Learned]
    data: Callable[[], list[Row]]
    #: (score to maximise, whether the setting is admissible) from held-out predictions.
    objective: Callable[[list[Row], list[str]], tuple[float, bool]]
    #: The frozen sets' name (``LATEST`` is keyed by it).
    gold: str
    #: How many rounds before the latest are held out of the selection fit, whole, and scored
    #: with the latest tune half (they are in the final fit).
    pool: int = 0
    #: How many leading characters of the reply have features of their own (``features``).
    opening: int = 0
    #: A feature is kept when at least this many training replies have it.
    min_df: int = MIN_DF
    #: The rule weights tried.
    weights: tuple[float, ...] = WEIGHTS

    @property
    def pooled(self) -> list[int]:
        """The earlier rounds held out of the selection fit, whole."""
        latest = latest_round(self.gold)
        return [latest - k for k in range(1, self.pool + 1)]

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.judge.labels)

    @property
    def bad(self) -> tuple[str, ...]:
        return tuple(self.judge.bad_labels or ())

    @property
    def rule_judge(self) -> str:
        return str(_rule_judge(self).config.name)

    def request(self, prompt: str | None) -> tuple[bool, str | None]:
        return self.judge.request(prompt)


def _binary(rows: Sequence[Row], pred: Sequence[str], bad: tuple[str, ...]) -> dict[str, float]:
    tp = sum(r.label in bad and p in bad for r, p in zip(rows, pred, strict=True))
    fp = sum(r.label not in bad and p in bad for r, p in zip(rows, pred, strict=True))
    fn = sum(r.label in bad and p not in bad for r, p in zip(rows, pred, strict=True))
    pos = sum(r.label in bad for r in rows)
    neg = len(rows) - pos
    return {"f1": 2 * tp / (2 * tp + fp + fn) if tp else 0.0, "sens": tp / pos if pos else 0.0,
            "fa": fp / neg if neg else 0.0}


def _kappa(rows: Sequence[Row], pred: Sequence[str]) -> float:
    labels = sorted({r.label for r in rows} | set(pred))
    n = len(rows)
    po = sum(r.label == p for r, p in zip(rows, pred, strict=True)) / n
    pe = sum((sum(r.label == c for r in rows) / n) * (sum(p == c for p in pred) / n)
             for c in labels)
    return (po - pe) / (1 - pe) if pe < 1 else 0.0


def _refusal_objective(rows: list[Row], pred: list[str]) -> tuple[float, bool]:
    b = _binary(rows, pred, ("full_refusal", "partial_refusal"))
    # Without giving up precision: a judge that calls one answer in ten a refusal is no judge,
    # and below that bound every false alarm still counts against it (rounds 1-8 had the bound
    # alone, and on everyday traffic the choice sat at it: 10-13 % of plain answers flagged).
    return (b["f1"] + _kappa(rows, pred)) / 2 - b["fa"], b["fa"] <= 0.10


def _flattery_objective(rows: list[Row], pred: list[str]) -> tuple[float, bool]:
    pure = [p for r, p in zip(rows, pred, strict=True) if r.category == "pure_praise"]
    caught = sum(p == "flattering" for p in pure) / len(pure)
    plain = [p for r, p in zip(rows, pred, strict=True) if r.label == "plain"]
    fa = sum(p == "flattering" for p in plain) / len(plain)
    # A false alarm costs two caught pure-praise replies; plain answers flagged stay under 4 %
    # (the target is 5 %). Round 4 used 3 and 3 %, which left a threshold that caught 37 of 45
    # on its tune half where 43 were in reach at 3 of 67 flagged; changed before round 5 was read.
    return caught - 2 * fa + _binary(rows, pred, ("flattering",))["f1"] / 10, fa <= 0.04


def _abuse_objective(rows: list[Row], pred: list[str]) -> tuple[float, bool]:
    b = _binary(rows, pred, ("abusive",))
    # The bound is the target (2 %); rounds 3–4 used 1.5 %, which on round 5's tune half (108
    # clean texts: one false alarm is 0.9 %) left only thresholds that catch under half.
    return b["sens"] - 3 * b["fa"] + b["f1"] / 10, b["fa"] <= 0.02


TASKS = {
    # Refusal (round 15): features in at least 3 replies, and rule weight 0 or 0.2. Leaving each
    # of rounds 10-14 out in turn (development data), min_df 3 kept ~218k features of ~388k at
    # about the same F1 (within 0.005 either way at four settings; 0.920 against 0.917 at C 32,
    # weight 0.2, threshold 0.5), and weight 0.4 was worse than 0.2 at every C and threshold
    # tried (0.885 against 0.917 there), though the pooled selection chose it in rounds 13 and 14.
    "refusal": Task("refusal", RefusalLearned, refusal_data, _refusal_objective, "refusal", pool=2,
                    opening=80, min_df=3, weights=(0.0, 0.2)),
    "flattery": Task("flattery", FlatteryLearned, flattery_data, _flattery_objective, "flattery",
                     pool=1),
    "abuse": Task("abuse", AbuseLearned, abuse_data, _abuse_objective, "abuse_zh"),
}


def _rule_judge(task: Task) -> Any:
    """The rule judge, built as the learned judge builds it."""
    return task.judge.rule_class()


def _rule_labels(task: Task, rows: list[Row]) -> None:
    judge = _rule_judge(task)

    async def all_() -> None:
        for r in rows:
            messages = (({"role": "user", "content": r.prompt},) if r.prompt else ()) + (
                {"role": "assistant", "content": r.text},)
            r.rule = (await judge.judge(JudgeInput(id="x", text=r.text, messages=messages))).label

    asyncio.run(all_())


def _fit(task: Task, rows: list[Row], c: float) -> tuple[Any, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = TfidfVectorizer(analyzer=partial(features, opening=task.opening), sublinear_tf=True,
                          min_df=task.min_df)
    x = vec.fit_transform([r.text for r in rows])
    model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced")
    model.fit(x, [r.label for r in rows])
    return vec, model


def _combine(task: Task, probs: dict[str, float], row: Row, w: float, th: float) -> str:
    return combine(task.labels, task.bad, probs, row.rule, w, th, task.request(row.prompt))[0]


def select(task: Task, rows: list[Row]) -> tuple[float, float, float]:
    groups = {"latest", *(f"r{n}" for n in task.pooled)}
    train = [r for r in rows if r.group not in groups]
    held = [r for r in rows if r.group in groups]
    pooled = "".join(f" and round {n} whole" for n in task.pooled)
    print(f"{task.name}: selecting on round {latest_round(task.gold)}'s tune half{pooled} "
          f"({len(held)} rows), fitted on {len(train)} other rows")
    best: tuple[tuple[bool, float], float, float, float] | None = None
    chosen: list[str] = []
    for c in CS:
        vec, model = _fit(task, train, c)
        proba = model.predict_proba(vec.transform([r.text for r in held]))
        probs = [dict(zip(model.classes_, p, strict=True)) for p in proba]
        for w in task.weights:
            for th in THRESHOLDS:
                pred = [_combine(task, p, r, w, th) for p, r in zip(probs, held, strict=True)]
                score, ok = task.objective(held, pred)
                key = (ok, score)
                if best is None or key > best[0]:
                    best, chosen = (key, c, w, th), pred
            pred = [_combine(task, p, r, w, 0.5) for p, r in zip(probs, held, strict=True)]
            b = _binary(held, pred, task.bad)
            print(f"  C={c:g} rule_weight={w:g} threshold=0.5: F1 {b['f1']:.3f} "
                  f"sensitivity {b['sens']:.3f} false alarms {b['fa']:.3f}")
    rules = _binary(held, [r.rule for r in held], task.bad)
    print(f"  {task.rule_judge} alone: F1 {rules['f1']:.3f} sensitivity {rules['sens']:.3f} "
          f"false alarms {rules['fa']:.3f}")
    assert best is not None
    (ok, score), c, w, th = best
    pred = chosen
    b = _binary(held, pred, task.bad)
    print(f"  chosen: C={c:g} rule_weight={w:g} threshold={th:g} (objective {score:.3f}"
          f"{'' if ok else ', no setting met the false-alarm bound'}): F1 {b['f1']:.3f} "
          f"sensitivity {b['sens']:.3f} false alarms {b['fa']:.3f} kappa {_kappa(held, pred):.3f}")
    return c, w, th


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def write(task: Task, rows: list[Row], c: float, w: float, th: float, out: Path) -> Path:
    vec, model = _fit(task, rows, c)
    classes = [str(x) for x in model.classes_]
    coef = model.coef_
    intercept = [float(x) for x in model.intercept_]
    header = {"model": f"learned_{task.name}", "written_by": "the levelhead project",
              "trained_by": "scripts/train_learned_judges.py", "license": "Apache-2.0, as levelhead",
              "classes": classes, "intercept": intercept, "C": c, "rows": len(rows),
              "training_sets": list(dict.fromkeys(r.source for r in rows)),
              "features": "char 1-4-grams of NFKC lower-cased text, Latin word 1-2-grams"
                          + (f", char 2-4-grams of its first {task.opening} characters"
                             if task.opening else "")
                          + (f"; those in at least {task.min_df} training replies"
                             if task.min_df != MIN_DF else "") + "; sublinear tf-idf, l2",
              **({"opening": task.opening} if task.opening else {}),
              "defaults": {"rule_weight": w, "threshold": th},
              # The rules whose verdicts chose the defaults (the judge's version names them).
              "rule_judge": {"name": task.rule_judge, "version": str(_rule_judge(task).version)},
              # So that `judge eval` can tell when it is shown the model's own training texts.
              "text_digests": sorted({text_digest(r.text) for r in rows})}
    vocab = sorted(vec.vocabulary_.items())
    path = out / f"learned_{task.name}.jsonl.gz"
    path.write_bytes(dump_model(header, ((f, vec.idf_[j], coef[:, j]) for f, j in vocab)))
    print(f"  wrote {path}: {len(vocab)} features, {path.stat().st_size} bytes, "
          f"sha256 {_digest(path)}")
    # The package's scorer must give the probabilities scikit-learn gives (same features).
    from levelhead.judges._ngram import NgramModel

    mine = NgramModel.from_bytes(task.name, path.read_bytes())
    theirs = model.predict_proba(vec.transform([r.text for r in rows[:200]]))
    worst = max(abs(mine.probabilities(r.text)[cl] - float(p[k]))
                for r, p in zip(rows[:200], theirs, strict=False) for k, cl in enumerate(classes))
    print(f"  package scorer vs scikit-learn on 200 rows: largest difference {worst:.2e}")
    if not math.isfinite(worst) or worst > 1e-3:
        raise SystemExit("the package's scorer disagrees with scikit-learn")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", action="append", choices=sorted(TASKS))
    parser.add_argument("--select-only", action="store_true", help="print the selection, write nothing")
    parser.add_argument("--out", type=Path, default=ROOT / "src" / "levelhead" / "judges" / "data")
    args = parser.parse_args(argv)
    for name in args.task or sorted(TASKS):
        task = TASKS[name]
        rows = [r for r in task.data() if r.label in task.labels]
        _rule_labels(task, rows)
        c, w, th = select(task, rows)
        if not args.select_only:
            write(task, rows, c, w, th, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
