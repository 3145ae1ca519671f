"""``levelhead judge eval``: a judge against replies that people labelled.

Parse → judge every gold item → :func:`levelhead.judges._eval.evaluate` → render a table or
JSON; ``--save-calibration`` keeps the per-label counts for corrected rates.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from levelhead.cli._files import decode_utf8, prepare_output, read_bytes
from levelhead.cli._judge_configs import judge_configs_from as _configs
from levelhead.cli._render import wide_console
from levelhead.errors import SpecError
from levelhead.judges import Judge, JudgeInput, JudgeVerdict, PairJudge, build_judge, judge_identity
from levelhead.judges._eval import BinaryScores, Estimate, Evaluation, evaluate
from levelhead.judges._gold import LAYOUTS, GoldItem, parse_gold
from levelhead.runner._judging import safe_verdict

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def read_gold(paths: tuple[str, ...], layout: str | None, split: str | None,
              label_map: dict[str, str]) -> tuple[list[GoldItem], list[str]]:
    """Every gold item of ``paths`` (the file's name becomes the ``source`` slice when there
    are several), only those of ``split`` when given, with labels renamed by ``label_map``."""
    items: list[GoldItem] = []
    names = []
    for path in paths:
        text = decode_utf8(read_bytes(path, what="gold file"), path)
        got = parse_gold(text, "<stdin>" if path == "-" else path, layout)  # type: ignore[arg-type]
        name = Path(path).name
        names.append(name)
        for item in got:
            slices = {**item.slices, "source": name} if len(paths) > 1 else dict(item.slices)
            items.append(GoldItem(item.id if len(paths) == 1 else f"{name}:{item.id}",
                                  item.text, label_map.get(item.label, item.label),
                                  item.messages, item.tags, slices, item.split,
                                  tuple(label_map.get(r, r) for r in item.raters)))
    if split is not None:
        splits = sorted({i.split for i in items if i.split})
        items = [i for i in items if i.split == split]
        if not items:
            raise SpecError(f"--split {split}: no item of {', '.join(paths)} is in it "
                            f"({'its splits: ' + ', '.join(splits) if splits else 'it has no split field'})")
    return items, names


def _label_map(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        gold, sep, mine = pair.partition("=")
        if not sep or not gold.strip() or not mine.strip():
            raise SpecError(f"--label-map {pair!r}: write GOLD_LABEL=JUDGE_LABEL, e.g. "
                            "offensive=abusive")
        out[gold.strip()] = mine.strip()
    return out


async def _verdicts(j: Judge, items: list[GoldItem], console: Console) -> list[JudgeVerdict]:
    from rich.progress import Progress

    sem = asyncio.Semaphore(16)
    with Progress(console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task(f"judging with {j.config.name}", total=len(items))

        async def one(item: GoldItem) -> JudgeVerdict:
            async with sem:
                v = await safe_verdict(j.config.name, j.judge(JudgeInput(
                    id=item.id, text=item.text, messages=item.messages, tags=item.tags)))
            bar.advance(task)
            return v

        try:
            return list(await asyncio.gather(*(one(i) for i in items)))
        finally:
            await j.close()


def _fig(e: Estimate) -> str:
    if math.isnan(e.value):
        return "n/a"
    if math.isnan(e.low):
        return f"{e.value:.2f}"
    return f"{e.value:.2f} ({_short(e.low)}–{_short(e.high)})"


def _short(x: float) -> str:
    """``.21``, ``-.23``, ``1``: an interval end in few characters."""
    text = f"{x:.2f}"
    return "1" if text == "1.00" else text.replace("0.", ".", 1)


def _one_line(text: str, width: int) -> str:
    flat = _CONTROL.sub(" ", text).strip()
    return flat if len(flat) <= width else flat[:width - 1] + "…"


def _binary_row(b: BinaryScores) -> list[str]:
    return [str(b.tp + b.fn), _fig(b.sensitivity), _fig(b.specificity), _fig(b.precision),
            _fig(b.f1), _fig(b.kappa)]


def _table(title: str, columns: list[str], left: int = 1) -> Table:
    table = Table(title=title, title_justify="left")
    for i, col in enumerate(columns):
        table.add_column(col, justify="left" if i < left else "right")
    return table


def render(ev: Evaluation, console: Console, misses: int) -> None:
    """The evaluation as tables; every text from the gold file is shown as plain text."""
    def out(line: str) -> None:
        console.print(line, markup=False, highlight=False)

    n, errors = len(ev.judged), ev.errors
    out(f"{ev.judge} v{ev.version} against {', '.join(ev.sources)}: {n} labelled replies"
        + (f" ({errors} left out: the judge failed on them)" if errors else "")
        + (f"; positive = {' or '.join(ev.positive)}" if ev.positive else "")
        + ". Intervals are 95 %: Wilson for shares, bootstrap over replies for F1 and κ.")
    if ev.binary is not None:
        t = _table("positive against the rest",
                   ["", "positives", "sensitivity", "specificity", "precision", "F1", "κ"])
        t.add_row(Text("all"), *_binary_row(ev.binary))
        console.print(t)
    t = _table(f"per label (each against the rest); all labels: accuracy {_fig(ev.accuracy)}, "
               f"κ {_fig(ev.kappa)}",
               ["label", "people", "sensitivity", "specificity", "precision", "F1", "κ"])
    for label, b in ev.per_label.items():
        t.add_row(Text(label), *_binary_row(b))
    console.print(t)
    if ev.human is not None:
        out(f"human ceiling: the two people's labels agree at κ {_fig(ev.human)} on "
            f"{ev.human_n} replies; the judge's κ is {_fig(ev.kappa)}.")
    labels = list(ev.confusion)
    columns = list(dict.fromkeys([*labels, *ev.labels]))
    t = _table("confusion (rows: people, columns: judge)", ["people \\ judge", *columns])
    for g, row in ev.confusion.items():
        t.add_row(Text(g), *[str(row.get(c, 0)) for c in columns])
    console.print(t)
    if ev.slices:
        cols = (["slice", "n", "positives", "sensitivity", "specificity", "precision", "F1", "κ"]
                if ev.positive else ["slice", "n", "accuracy", "κ"])
        t = _table("per slice", cols)
        for s in ev.slices:
            name = Text(f"{s.key}={s.value}")
            if s.binary is not None:
                t.add_row(name, str(s.n), *_binary_row(s.binary))
            else:
                t.add_row(name, str(s.n), _fig(s.accuracy), _fig(s.kappa))
        console.print(t)
    asked = ev.borderline
    out(f"LLM fallback: the judge calls {asked.k} of {asked.n} verdicts borderline "
        f"({_fig(asked)}); with `fallback` set these are what a judge model would be asked. "
        f"Accuracy on them {_fig(ev.borderline_accuracy)}, on the rest {_fig(ev.decided_accuracy)}.")
    wrong = ev.misses()
    if not wrong:
        out("no misses: the judge agrees with every label.")
        return
    t = _table(f"worst misses ({min(misses, len(wrong))} of {len(wrong)}; sure ones first)",
               ["id", "people", "judge", "why", "reply"], left=5)
    for o in wrong[:misses]:
        t.add_row(Text(_one_line(o.item.id, 30)), Text(o.item.label),
                  Text(o.verdict.label + (" (borderline)" if o.borderline else "")),
                  Text(_one_line(o.verdict.rationale or "", 60)), Text(_one_line(o.item.text, 90)))
    console.print(t)


@click.command("eval")
@click.option("--judge", "names", multiple=True, metavar="NAME",
              help="The judge to measure, e.g. refusal.rules (one; use --judges-file for settings).")
@click.option("--judges-file", type=click.Path(exists=True, dir_okay=False),
              help="A TOML file with one [[judges]] table (a judge with settings, an ensemble).")
@click.option("--gold", "gold_paths", multiple=True, required=True, metavar="FILE",
              help="Labelled replies (repeatable: each file is a slice): JSONL {id, text | messages,"
                   " label, lang?, category?, tags?, split?}, a refusal CSV (…,completion,"
                   "annotation_1,annotation_2,agreement,final_label) or an offensive-language CSV "
                   "(TEXT,label[,fine-grained-label,topic]).")
@click.option("--layout", type=click.Choice(LAYOUTS), help="The gold files' layout (default: detected).")
@click.option("--split", metavar="NAME",
              help="Only the items whose split is NAME (e.g. tune while changing rules, report once).")
@click.option("--positive", multiple=True, metavar="LABEL",
              help="Labels that count as positive in the binary figures (default: the judge's bad "
                   "labels; repeatable).")
@click.option("--label-map", "label_pairs", multiple=True, metavar="GOLD=JUDGE",
              help="Rename a gold label to the judge's (repeatable), e.g. offensive=abusive.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("--misses", default=10, show_default=True, type=click.IntRange(min=0),
              help="How many wrong verdicts to show.")
@click.option("--save-calibration", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write the judge's per-label counts here, for corrected rates "
                   "(findings/report/gate --calibration FILE).")
@click.option("--seed", default=0, show_default=True, help="Seed of the bootstrap intervals.")
def judge_eval(names: tuple[str, ...], judges_file: str | None, gold_paths: tuple[str, ...],
               layout: str | None, split: str | None, positive: tuple[str, ...],
               label_pairs: tuple[str, ...], fmt: str, misses: int,
               save_calibration: str | None, seed: int) -> None:
    """Measure a judge against replies that people labelled: sensitivity, specificity,
    precision, F1 and κ with intervals, per label and per language, category, model and file;
    the confusion table; the worst misses; how often its LLM fallback would be asked.

    \b
      levelhead judge eval --judge refusal.rules --gold completions.csv
      levelhead judge eval --judge abuse.lexicon --gold test.csv --format json
      levelhead judge eval --judge refusal.rules --gold mine.jsonl --split report \\
          --save-calibration refusal.calibration.json
    """
    configs = _configs(names, judges_file)
    if len(configs) != 1:
        raise SpecError(f"judge eval measures one judge at a time; got {len(configs)} "
                        f"({', '.join(c.name for c in configs)})")
    j = build_judge(configs[0])
    if isinstance(j, PairJudge):
        raise SpecError(f"{configs[0].name} judges pairs of samples; judge eval needs a judge of "
                        "single replies")
    items, sources = read_gold(gold_paths, layout, split, _label_map(label_pairs))
    unknown = sorted({i.label for i in items} - set(j.labels))
    if unknown:
        raise SpecError(f"gold label {', '.join(map(repr, unknown))} is not a label of "
                        f"{configs[0].name} ({', '.join(j.labels)}); rename it with --label-map "
                        f"{unknown[0]}=LABEL")
    bad = [p for p in positive if p not in j.labels]
    if bad:
        raise SpecError(f"--positive {bad[0]}: not a label of {configs[0].name} "
                        f"({', '.join(j.labels)})")
    if save_calibration:
        prepare_output(Path(save_calibration))
    console = wide_console()
    err = Console(stderr=True)
    overlap = getattr(j, "training_overlap", None)
    trained = overlap([i.text for i in items]) if overlap is not None else None
    if trained:
        err.print(f"[yellow]warning:[/] {trained} of the {len(items)} replies "
                  f"{'was' if trained == 1 else 'were'} in {configs[0].name}'s training data: "
                  "figures on them are in-sample, not a measure of the judge (use labels it was "
                  "not trained on)", highlight=False)
    verdicts = asyncio.run(_verdicts(j, items, err))
    name, version, args = judge_identity(j)
    what = f" (split {split})" if split else ""
    ev = evaluate(name, version, args, j.labels, items, verdicts,
                  positive or tuple(j.bad_labels or ()), seed=seed,
                  sources=[s + what for s in sources])
    if fmt == "json":
        out = ev.to_json(misses)
        if trained is not None:
            out["in_training_data"] = trained
        sys.stdout.write(json.dumps(out, ensure_ascii=False, indent=2) + "\n")
    else:
        render(ev, console, misses)
    if save_calibration:
        _save(ev, Path(save_calibration), sources, split)
        click.echo(f"calibration of {name} v{version} written to {save_calibration}. Use it with: "
                   f"levelhead findings RUN --calibration {save_calibration}", err=True)


def _save(ev: Evaluation, path: Path, sources: list[str], split: str | None) -> None:
    from levelhead.analysis._calibration import Calibration, LabelCounts

    source = f"{', '.join(sources)}" + (f" (split {split})" if split else "") + \
        f", {len(ev.judged)} labelled replies"
    Calibration(
        judge=ev.judge, judge_version=ev.version, judge_args=ev.args, source=source,
        labels={label: LabelCounts(tp=b.tp, fn=b.fn, tn=b.tn, fp=b.fp)
                for label, b in ev.per_label.items() if label in ev.labels},
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    ).save(path)
