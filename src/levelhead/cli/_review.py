"""``levelhead review``: the spot-check queue. People label a probability sample of a run's
replies, drawn stratified by one judge's label; their labels measure the judge on this very run
(weighted by the design) and give its rates corrected for its errors."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import click

from levelhead.errors import SpecError
from levelhead.store import open_store

_KEYS = "digits label · n next · u undo · q quit"


@click.group("review")
def review() -> None:
    """Spot-check a judge: draw a sample of a run's replies for people to label blind, then see
    how the judge agrees with them and correct its rates.

      levelhead review create RUN --judge abuse.lexicon --size 200
      levelhead review label RUN QUEUE --reviewer ann
      levelhead review agreement RUN QUEUE
      levelhead review calibration RUN QUEUE -o abuse.review.json
      levelhead findings RUN --calibration abuse.review.json
    """


@review.command("create")
@click.argument("run_ref", metavar="RUN")
@click.option("--judge", "judge", required=True, help="The judge whose labels people check.")
@click.option("--size", default=200, show_default=True, type=click.IntRange(1, 100_000),
              help="Replies to draw.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--name", "name", default=None, help="The queue's name [default: JUDGE-SIZE].")
@click.option("--labels", "labels", default=None, metavar="A,B,...",
              help="The labels reviewers choose from [default: the judge's labels].")
@click.pass_obj
def create(obj: dict[str, Any], run_ref: str, judge: str, size: int, seed: int,
           name: str | None, labels: str | None) -> None:
    """Draw a spot-check queue from RUN: SIZE replies stratified by JUDGE's label (each label an
    equal share, so rare ones are oversampled), each with its inclusion probability."""
    from levelhead.analysis import judge_labels
    from levelhead.analysis._review import draw_review, judge_population

    store = open_store(obj["store"])
    try:
        run = store.find_run(run_ref)
        try:
            (version, args), population = judge_population(store, run.id, judge)
            draw = draw_review(population, size, seed)
        except ValueError as exc:
            raise SpecError(str(exc)) from None
        choices = ([x.strip() for x in labels.split(",") if x.strip()] if labels
                   else list(judge_labels(judge) or sorted(set(population.values()))))
        missing = sorted({h for _, h, _ in draw.items} - set(choices))
        if missing and not labels:
            raise SpecError(f"the judge gave labels the reviewers cannot choose: "
                            f"{', '.join(missing)}; add them to --labels")
        if missing:  # labels of another question (e.g. 'biased' for the raters' lean)
            click.secho(f"note: reviewers choose from {', '.join(choices)}, not the judge's "
                        f"{', '.join(missing)}: `review agreement` compares only where the two "
                        "label sets meet", fg="yellow", err=True)
        judge_id = store.ensure_judge(judge, version, args)
        queue = store.create_review_queue(run.id, name or f"{judge}-{len(draw.items)}", judge_id,
                                          choices, draw.design, draw.items)
    finally:
        store.close()
    click.echo(f"queue '{queue.name}' (id {queue.id}): {len(draw.items)} replies of run "
               f"'{run.name}' drawn by {judge}'s label (seed {seed})")
    for h, s in draw.design["strata"].items():
        click.echo(f"  {h}: {s['n']} of {s['N']} (inclusion probability {s['n'] / s['N']:.3g})")
    click.echo(f"Next: levelhead review label {run.name} {queue.name} --reviewer YOUR_NAME")


@review.command("list")
@click.argument("run_ref", metavar="RUN", required=False)
@click.pass_obj
def list_queues(obj: dict[str, Any], run_ref: str | None) -> None:
    """The review queues of RUN (of every run without one), newest first."""
    store = open_store(obj["store"], read_only=True)
    try:
        run_id = store.find_run(run_ref).id if run_ref else None
        queues = store.review_queues(run_id)
    finally:
        store.close()
    if not queues:
        click.echo("no review queue yet: levelhead review create RUN --judge NAME")
    for q in queues:
        click.echo(f"{q.id}\t{q.name}\trun {q.run_id}\t{q.judge_name} v{q.judge_version}\t"
                   f"{q.labelled}/{q.items} labelled\t{q.created_at}")


def _transcript(sample: Any) -> str:
    turns = [f"[{m.get('role', '?')}] {m.get('content', '')}" for m in sample.messages
             if m.get("role") != "assistant"]
    return "\n".join([*turns, f"[reply] {sample.text}"])


@review.command("label")
@click.argument("run_ref", metavar="RUN")
@click.argument("queue_ref", metavar="QUEUE")
@click.option("--reviewer", required=True, help="Your name, as it should stand by your labels.")
@click.option("--notes", is_flag=True, help="Ask for a note after each label.")
@click.pass_obj
def label(obj: dict[str, Any], run_ref: str, queue_ref: str, reviewer: str, notes: bool) -> None:
    """Label the queue's replies you have not labelled yet, blind: the judge's verdict is shown
    only after you answer. Type a label's digit (or its name), n to skip, u to undo your last
    label, q to stop; you can come back later."""
    store = open_store(obj["store"])
    try:
        run = store.find_run(run_ref)
        queue = store.find_review_queue(run.id, queue_ref)
        items = store.review_items(queue.id)
        samples = {s.sample_id: s for s in store.stored_samples(run.id)}
        mine = {x.sample_id for x in store.review_labels(queue.id) if x.reviewer == reviewer}
        menu = "  ".join(f"{i}={name}" for i, name in enumerate(queue.labels, 1))
        todo = [it for it in items if it.sample_id not in mine]
        done = len(items) - len(todo)
        click.echo(f"queue '{queue.name}': {len(items)} replies, {done} labelled by {reviewer}; "
                   f"{_KEYS}")
        i = 0
        if not todo and click.prompt("every reply has your label (u undoes your last, q stops)",
                                     default="q", show_default=False).strip() == "u":
            undone = store.undo_review_label(queue.id, reviewer)
            if undone is not None:
                click.echo(f"undone: {undone.label}")
                todo.append(next(it for it in items if it.sample_id == undone.sample_id))
                done -= 1
        while i < len(todo):
            item = todo[i]
            click.echo(f"\n── item {item.position + 1} of {len(items)} ({done} labelled by "
                       f"{reviewer}) · {item.target} · {item.probe} · {item.prompt_id} "
                       f"#{item.sample_index}")
            click.echo(_transcript(samples[item.sample_id]))
            answer = click.prompt(f"label ({menu})", default="", show_default=False).strip()
            if answer == "q":
                break
            if answer == "n":
                i += 1
                continue
            if answer == "u":
                undone = store.undo_review_label(queue.id, reviewer)
                if undone is None:
                    click.echo("nothing to undo")
                    continue
                click.echo(f"undone: {undone.label}")
                # The reply comes back next — unless an older label of yours on it counts again.
                mine_now = {x.sample_id for x in store.review_labels(queue.id)
                            if x.reviewer == reviewer}
                if undone.sample_id not in mine_now:
                    todo.insert(i, next(it for it in items if it.sample_id == undone.sample_id))
                    done -= 1
                continue
            chosen = _choice(answer, queue.labels)
            if chosen is None:
                click.echo(f"not a label: {answer!r} ({menu}; {_KEYS})")
                continue
            note = click.prompt("note", default="", show_default=False) if notes else ""
            store.add_review_label(queue.id, item.sample_id, reviewer, chosen, note)
            click.echo(f"saved {chosen}; the judge said {item.stratum}")
            i, done = i + 1, done + 1
        click.echo(f"{done} of {len(items)} labelled by {reviewer}")
    finally:
        store.close()


def _choice(answer: str, labels: tuple[str, ...] | list[str]) -> str | None:
    if answer.isascii() and answer.isdigit() and 1 <= int(answer) <= len(labels):
        return labels[int(answer) - 1]
    return answer if answer in labels else None


def _queue_labels(store: Any, run_ref: str, queue_ref: str) -> tuple[Any, Any, list[Any],
                                                                       dict[int, dict[str, str]]]:
    run = store.find_run(run_ref)
    queue = store.find_review_queue(run.id, queue_ref)
    items = store.review_items(queue.id)
    by_item: dict[int, dict[str, str]] = defaultdict(dict)
    for x in store.review_labels(queue.id):
        by_item[x.sample_id][x.reviewer] = x.label
    return run, queue, items, by_item


@review.command("agreement")
@click.argument("run_ref", metavar="RUN")
@click.argument("queue_ref", metavar="QUEUE")
@click.option("--positive", multiple=True, metavar="LABEL",
              help="Labels that count as positive [default: the judge's bad labels].")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.pass_obj
def agreement(obj: dict[str, Any], run_ref: str, queue_ref: str, positive: tuple[str, ...],
              fmt: str) -> None:
    """How the judge agrees with the reviewers over the whole run (weighted by the queue's
    design), how the reviewers agree with each other, and the disputed replies."""
    from levelhead.analysis._review import consensus, reviewer_agreement

    store = open_store(obj["store"], read_only=True)
    try:
        run, queue, items, by_item = _queue_labels(store, run_ref, queue_ref)
    finally:
        store.close()
    result = _agreement(queue, items, by_item, positive)
    pairs = reviewer_agreement(by_item)
    disputed = [(it, by_item[it.sample_id]) for it in items if it.sample_id in by_item
                and (len(set(by_item[it.sample_id].values())) > 1
                     or consensus(by_item[it.sample_id].values()) != it.stratum)]
    if fmt == "json":
        click.echo(json.dumps({
            "queue": queue.name, "judge": queue.judge_name, "judge_version": queue.judge_version,
            "agreement": result.to_dict() if result is not None else None,
            "reviewers": [vars(p) if not hasattr(p, "__slots__") else
                          {"a": p.a, "b": p.b, "n": p.n, "agree": p.agree, "kappa": p.kappa}
                          for p in pairs],
            "disputed": [{"sample_id": it.sample_id, "position": it.position, "judge": it.stratum,
                          "reviewers": labels} for it, labels in disputed]},
            ensure_ascii=False, indent=1, default=str))
        return
    labelled = sum(1 for it in items if it.sample_id in by_item)
    click.echo(f"queue '{queue.name}' of run '{run.name}': {labelled} of {len(items)} replies "
               f"labelled; judge {queue.judge_name} v{queue.judge_version}")
    tied = sum(1 for by in by_item.values() if consensus(by.values()) is None)
    if tied:
        click.echo(f"  {tied} replies where the reviewers tie are left out of the agreement "
                   "(listed as disputed): the figures may flatter the judge; add a reviewer")
    if result is None:
        click.echo("no reply has a consensus label yet: label some first "
                   f"(levelhead review label {run.name} {queue.name} --reviewer NAME)")
    else:
        for title, est in (("sensitivity", result.sensitivity), ("specificity", result.specificity),
                           ("precision", result.precision), ("accuracy", result.accuracy),
                           ("κ (all labels)", result.kappa)):
            click.echo(f"  {title}: {_estimate(est)}")
        click.echo(f"  weighted over the run's {result.population} replies (effective n "
                   f"{result.effective_n:.1f}); unweighted sensitivity of the sample "
                   f"{_num(result.naive_sensitivity)}, specificity {_num(result.naive_specificity)}")
        for note in result.notes:
            click.echo(f"  note: {note}")
    for p in pairs:
        click.echo(f"  reviewers {p.a} and {p.b}: {p.agree} of {p.n} the same, κ {_num(p.kappa)}")
    if disputed:
        click.echo(f"disputed ({len(disputed)}): the judge against the reviewers, or reviewers "
                   "against each other")
        for it, labels in disputed[:20]:
            said = ", ".join(f"{r}: {lab}" for r, lab in sorted(labels.items()))
            click.echo(f"  #{it.position} {it.probe} {it.prompt_id} #{it.sample_index}: judge "
                       f"{it.stratum}; {said}")


def _agreement(queue: Any, items: list[Any], by_item: dict[int, dict[str, str]],
               positive: tuple[str, ...]) -> Any:
    """Judge against the reviewers' consensus, weighted by the design; None without labels."""
    from levelhead.analysis._review import queue_agreement

    positive = positive or _bad_labels(queue.judge_name)
    if not positive:
        raise SpecError("say which labels are positive: --positive LABEL")
    sizes = {h: s["N"] for h, s in queue.design["strata"].items()}
    try:
        return queue_agreement([(it.sample_id, it.stratum) for it in items], by_item, sizes,
                               positive)
    except ValueError as exc:
        raise SpecError(str(exc)) from None


def _estimate(est: Any) -> str:
    if est is None or est.value is None:
        return "– (undefined: no such reply labelled)"
    return f"{est.value:.3f} (95 % interval {est.low:.3f}–{est.high:.3f})"


def _num(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


@review.command("export")
@click.argument("run_ref", metavar="RUN")
@click.argument("queue_ref", metavar="QUEUE")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write here [default: standard output].")
@click.option("--history", is_flag=True, help="Every label given, superseded and undone ones too.")
@click.pass_obj
def export(obj: dict[str, Any], run_ref: str, queue_ref: str, output: str | None,
           history: bool) -> None:
    """The queue's labels as JSONL: one line per label, with the item's stratum, inclusion
    probability and the judge's label, ready for `levelhead judge eval --gold` or other tools."""
    store = open_store(obj["store"], read_only=True)
    try:
        run = store.find_run(run_ref)
        queue = store.find_review_queue(run.id, queue_ref)
        items = {it.sample_id: it for it in store.review_items(queue.id)}
        samples = {s.sample_id: s for s in store.stored_samples(run.id)}
        labels = store.review_labels(queue.id, history=history)
    finally:
        store.close()
    lines = []
    for x in labels:
        it, s = items[x.sample_id], samples[x.sample_id]
        lines.append(json.dumps({
            "id": f"{queue.name}:{x.sample_id}:{x.reviewer}", "text": s.text,
            "messages": s.messages, "label": x.label, "reviewer": x.reviewer, "note": x.note,
            "created_at": x.created_at, **({"undone": x.undone} if history else {}),
            "judge": queue.judge_name, "judge_label": it.stratum,
            "inclusion_prob": it.inclusion_prob, "target": it.target, "probe": it.probe,
            "prompt_id": it.prompt_id, "sample_index": it.sample_index}, ensure_ascii=False))
    text = "".join(line + "\n" for line in lines)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {len(lines)} labels to {output}", err=True)
    else:
        click.echo(text, nl=False)


@review.command("calibration")
@click.argument("run_ref", metavar="RUN")
@click.argument("queue_ref", metavar="QUEUE")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True))
@click.option("--positive", multiple=True, metavar="LABEL",
              help="Labels that count as positive [default: the judge's bad labels].")
@click.pass_obj
def calibration(obj: dict[str, Any], run_ref: str, queue_ref: str, output: str,
                positive: tuple[str, ...]) -> None:
    """Write the judge's calibration from the reviewers' labels (weighted by the design, as
    whole-number counts at the effective sample size), for `findings / report / gate
    --calibration FILE`: the run's rates of that judge corrected for its errors on this run."""
    store = open_store(obj["store"], read_only=True)
    try:
        run, queue, items, by_item = _queue_labels(store, run_ref, queue_ref)
    finally:
        store.close()
    from levelhead.analysis._review import queue_calibration

    bad = positive or _bad_labels(queue.judge_name)
    if not bad:
        raise SpecError("say which labels to calibrate: --positive LABEL")
    labelled = sum(1 for it in items if it.sample_id in by_item)
    try:
        cal = queue_calibration(
            (queue.judge_name, queue.judge_version, queue.judge_args),
            [(it.sample_id, it.stratum) for it in items], by_item,
            {h: s["N"] for h, s in queue.design["strata"].items()}, bad,
            f"review queue '{queue.name}' of run '{run.name}' ({labelled} replies labelled)")
    except ValueError as exc:
        raise SpecError(str(exc)) from None
    if cal is None:
        raise SpecError("no reply has a consensus label yet: nothing to calibrate with")
    cal.save(output)
    for name, c in cal.labels.items():
        click.echo(f"{queue.judge_name} '{name}': sensitivity {_num(c.sensitivity)}, specificity "
                   f"{_num(c.specificity)} (effective counts tp {c.tp}, fn {c.fn}, tn {c.tn}, "
                   f"fp {c.fp})")
    click.echo(f"wrote {output}. Next: levelhead findings {run.name} --calibration {output}")


def _bad_labels(judge: str) -> tuple[str, ...]:
    from levelhead.analysis import judge_bad_labels

    return judge_bad_labels(judge) or ()


@review.command("lean")
@click.argument("run_ref", metavar="RUN")
@click.argument("queue_ref", metavar="QUEUE")
@click.option("--label", "label", required=True,
              help="The label whose use is compared between the sides (e.g. biased).")
@click.option("--sides", default="right,left", show_default=True, metavar="FIRST,SECOND",
              help="The two side tags of the mirrored pairs to compare.")
@click.pass_obj
def lean(obj: dict[str, Any], run_ref: str, queue_ref: str, label: str, sides: str) -> None:
    """The reviewers' own lean on mirrored pairs: how much more often each one gives LABEL to
    replies about the first side than to the mirrored replies about the second, paired by pair,
    with an interval; per reviewer, then pooled."""
    from levelhead.analysis._review import rater_lean

    first, _, second = sides.partition(",")
    if not first or not second:
        raise SpecError(f"--sides {sides!r}: give two side tags, e.g. right,left")
    store = open_store(obj["store"], read_only=True)
    try:
        run, queue, items, by_item = _queue_labels(store, run_ref, queue_ref)
        tags = {s.sample_id: s.tags for s in store.stored_samples(run.id)}
    finally:
        store.close()
    if label not in queue.labels:
        raise SpecError(f"{label!r} is not one of the queue's labels: {', '.join(queue.labels)}")
    where = {it.sample_id: (tags[it.sample_id].get("pair", ""), tags[it.sample_id].get("side_tag", ""))
             for it in items if tags.get(it.sample_id, {}).get("pair")}
    if not where:
        raise SpecError("no reply of this queue belongs to a mirrored pair (politics.mirrored)")
    leans = rater_lean(where, by_item, label, first.strip(), second.strip())
    if not leans:
        click.echo(f"too few mirrored pairs labelled on both sides ({first} and {second}) to "
                   "compare: at least two pairs per reviewer")
        return
    for x in leans:
        who = x.reviewer or "all reviewers"
        verdict = "a lean" if x.flagged else "no lean shown"
        click.echo(f"{who}: '{label}' on {x.first} replies {100 * x.first_share:.1f} % "
                   f"({x.first_n}) vs {x.second} replies {100 * x.second_share:.1f} % "
                   f"({x.second_n}): {100 * x.estimate:+.1f} points (95 % interval "
                   f"{100 * x.low:+.1f} to {100 * x.high:+.1f}) over {x.pairs} pairs — {verdict}")


# `findings`, `report` and `gate --review QUEUE`: a queue's labels as the judge's calibration.
review_option = click.option(
    "--review", "review_refs", multiple=True, metavar="QUEUE",
    help="A review queue of the run (`levelhead review`): its labels calibrate the queue's "
         "judge, so that judge's rates are also corrected for its errors on this run. Repeat "
         "for several queues.")


def with_review_calibrations(store: Any, run_ref: str, refs: tuple[str, ...],
                             calibrations: list[Any]) -> list[Any]:
    """``calibrations`` and those the run's review queues ``refs`` give their judges."""
    if not refs:
        return calibrations
    from levelhead.analysis._review import review_calibrations

    try:
        return [*calibrations, *review_calibrations(store, store.find_run(run_ref).id, refs)]
    except ValueError as exc:
        raise SpecError(str(exc)) from None
