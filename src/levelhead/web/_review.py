"""The spot-check queue in the browser: a run's queues and a form that draws one (as
``levelhead review create`` does), blind labelling one reply at a time, and what the labels say
of the judge (weighted agreement, reviewers' κ, the disputed replies, corrected rates).

The judge's label of a reply is never in the page before the reviewer's own label of it is
stored: the page after a label shows it, for that reply only.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from levelhead.errors import LevelheadError, SpecError
from levelhead.store import ReviewItemRecord, ReviewQueueRecord, Store
from levelhead.web._context import Web
from levelhead.web._security import CSRF_FIELD


def routes(web: Web) -> list[Route]:
    """The review routes."""
    async def queues(request: Request) -> Response:
        ref = request.path_params["run"]

        def read(s: Store) -> dict[str, Any]:
            r = s.find_run(ref)
            judges = sorted({v.judge for v in s.verdict_table(r.id)})
            return {"run": r, "queues": s.review_queues(r.id), "judges": judges}
        return web.page(request, "queues.html.j2", form={}, **await web.use(read))

    async def create(request: Request) -> Response:
        ref = request.path_params["run"]
        form = await request.form()
        web.guard.check_form(request, form.get(CSRF_FIELD))
        fields = {k: str(form.get(k, "")).strip() for k in ("judge", "size", "seed", "name")}
        try:
            size, seed = int(fields["size"] or 200), int(fields["seed"] or 0)
            if not 1 <= size <= 100_000:
                raise ValueError
        except ValueError:
            raise HTTPException(400, "size is a whole number from 1 to 100,000; seed a whole "
                                     "number") from None
        queue = await web.use(lambda s: _create(s, ref, fields["judge"], size, seed,
                                                fields["name"] or None))
        return RedirectResponse(f"/reviews/{queue.id}", status_code=303)

    async def label_page(request: Request) -> Response:
        qid = request.path_params["queue"]
        reviewer = request.query_params.get("reviewer", "").strip()
        after = _int(request.query_params.get("after"), -1)
        revealed = _int(request.query_params.get("revealed"), -1)
        context = await web.use(lambda s: _next_item(s, qid, reviewer, after, revealed))
        return web.page(request, "label.html.j2", reviewer=reviewer, **context)

    async def label(request: Request) -> Response:
        qid = request.path_params["queue"]
        form = await request.form()
        web.guard.check_form(request, form.get(CSRF_FIELD))
        reviewer = str(form.get("reviewer", "")).strip()
        chosen, note = str(form.get("label", "")), str(form.get("note", ""))
        sample_id = _int(str(form.get("sample_id", "")), -1)

        def write(s: Store) -> int:
            items = {it.sample_id: it for it in s.review_items(qid)}
            if sample_id not in items:
                raise HTTPException(400, "that reply is not in this queue")
            s.add_review_label(qid, sample_id, reviewer, chosen, note)
            return items[sample_id].position
        position = await web.use(write)
        query = urlencode({"reviewer": reviewer, "after": position, "revealed": sample_id})
        return RedirectResponse(f"/reviews/{qid}/label?{query}", status_code=303)

    async def undo(request: Request) -> Response:
        qid = request.path_params["queue"]
        form = await request.form()
        web.guard.check_form(request, form.get(CSRF_FIELD))
        reviewer = str(form.get("reviewer", "")).strip()

        def write(s: Store) -> int:
            undone = s.undo_review_label(qid, reviewer)
            if undone is None:
                return -1
            positions = {it.sample_id: it.position for it in s.review_items(qid)}
            return positions[undone.sample_id] - 1
        after = await web.use(write)
        query = urlencode({"reviewer": reviewer, "after": after})
        return RedirectResponse(f"/reviews/{qid}/label?{query}", status_code=303)

    async def queue(request: Request) -> Response:
        qid = request.path_params["queue"]
        return web.page(request, "queue.html.j2", **await web.use(lambda s: _measures(s, qid)))

    return [Route("/runs/{run}/reviews", queues, methods=["GET"]),
            Route("/runs/{run}/reviews", create, methods=["POST"]),
            Route("/reviews/{queue:int}", queue, methods=["GET"]),
            Route("/reviews/{queue:int}/label", label_page, methods=["GET"]),
            Route("/reviews/{queue:int}/label", label, methods=["POST"]),
            Route("/reviews/{queue:int}/undo", undo, methods=["POST"])]


def _int(text: str | None, default: int) -> int:
    if text is None or not text.strip():
        return default
    value = text.strip().removeprefix("-")
    if not (value.isascii() and value.isdigit()) or len(value) > 12:
        raise HTTPException(400, f"not a number: {text[:20]!r}")
    return int(text)


def _queue_of(s: Store, qid: int) -> ReviewQueueRecord:
    if not 0 < qid < 2**62:  # SQLite integers stop at 2**63
        raise HTTPException(404, f"no review queue {qid}")
    for q in s.review_queues():
        if q.id == qid:
            return q
    raise HTTPException(404, f"no review queue {qid}")


# -- drawing a queue (as `levelhead review create`) --------------------------------------------
def _create(s: Store, ref: str, judge: str, size: int, seed: int,
            name: str | None) -> ReviewQueueRecord:
    from levelhead.analysis import judge_labels
    from levelhead.analysis._review import draw_review, judge_population

    if not judge:
        raise SpecError("choose the judge whose labels people check")
    r = s.find_run(ref)
    try:
        (version, args), population = judge_population(s, r.id, judge)
        draw = draw_review(population, size, seed)
    except ValueError as exc:
        raise SpecError(str(exc)) from None
    choices = list(judge_labels(judge) or sorted(set(population.values())))
    missing = sorted({h for _, h, _ in draw.items} - set(choices))
    choices += missing  # a label the judge gave must be one reviewers can give
    judge_id = s.ensure_judge(judge, version, args)
    return s.create_review_queue(r.id, name or f"{judge}-{len(draw.items)}", judge_id, choices,
                                 draw.design, draw.items)


# -- labelling, blind ---------------------------------------------------------------------------
def _next_item(s: Store, qid: int, reviewer: str, after: int, revealed: int) -> dict[str, Any]:
    q = _queue_of(s, qid)
    items = s.review_items(qid)
    mine = {x.sample_id: x for x in s.review_labels(qid) if reviewer and x.reviewer == reviewer}
    todo = [it for it in items if it.sample_id not in mine]
    item: ReviewItemRecord | None = next((it for it in todo if it.position > after),
                                         todo[0] if todo else None)
    reveal = None
    if revealed in mine:  # the judge's label, only of a reply this reviewer has labelled
        said = next(it for it in items if it.sample_id == revealed)
        reveal = {"sample_id": revealed, "position": said.position, "yours": mine[revealed].label,
                  "judge": said.stratum, "judge_name": q.judge_name}
    sample = None
    if item is not None and reviewer:
        sample = s.browse_sample(q.run_id, item.sample_id)
    return {"queue": q, "item": item, "sample": sample, "done": len(mine), "total": len(items),
            "reveal": reveal, "run": s.find_run(q.run_id)}


# -- what the labels say (as `levelhead review agreement` and `calibration`) -------------------
def _positive(judge: str) -> tuple[str, ...]:
    from levelhead.analysis import judge_bad_labels

    return judge_bad_labels(judge) or ()


def _agreement(q: ReviewQueueRecord, items: list[ReviewItemRecord],
               by_item: dict[int, dict[str, str]], positive: tuple[str, ...]) -> Any:
    from levelhead.analysis._review import queue_agreement

    try:
        return queue_agreement([(it.sample_id, it.stratum) for it in items], by_item,
                               _sizes(q), positive)
    except ValueError as exc:
        raise SpecError(str(exc)) from None


def _sizes(q: ReviewQueueRecord) -> dict[str, int]:
    return {h: st["N"] for h, st in q.design["strata"].items()}


def _measures(s: Store, qid: int) -> dict[str, Any]:
    from levelhead.analysis._review import consensus, queue_calibration, reviewer_agreement
    from levelhead.report import compute_findings, load_run_data

    q = _queue_of(s, qid)
    items = s.review_items(qid)
    by_item: dict[int, dict[str, str]] = defaultdict(dict)
    for x in s.review_labels(qid):
        by_item[x.sample_id][x.reviewer] = x.label
    out: dict[str, Any] = {"queue": q, "run": s.find_run(q.run_id), "total": len(items),
                           "labelled": sum(1 for it in items if it.sample_id in by_item),
                           "pairs": reviewer_agreement(by_item), "problem": None,
                           "agreement": None, "corrected": []}
    # Blind: a reply's judge label and other reviewers' labels are listed only once every
    # reviewer of the queue has labelled it, so no reviewer can read them before answering.
    reviewers = {r for by in by_item.values() for r in by}
    out["disputed"] = [(it, sorted(by_item[it.sample_id].items())) for it in items
                       if it.sample_id in by_item and set(by_item[it.sample_id]) == reviewers
                       and (len(set(by_item[it.sample_id].values())) > 1
                            or consensus(by_item[it.sample_id].values()) != it.stratum)]
    positive = _positive(q.judge_name)
    if not positive:
        out["problem"] = (f"judge {q.judge_name} declares no bad labels: measure it with "
                          "`levelhead review agreement --positive LABEL`")
        return out
    try:
        result = _agreement(q, items, by_item, positive)
        out["agreement"] = result
        if result is not None:
            try:
                cal = queue_calibration(
                    (q.judge_name, q.judge_version, q.judge_args),
                    [(it.sample_id, it.stratum) for it in items], by_item, _sizes(q), positive,
                    f"review queue '{q.name}' ({out['labelled']} replies labelled)")
            except ValueError as exc:
                raise SpecError(str(exc)) from None
            findings = compute_findings(load_run_data(s, q.run_id), [cal] if cal else [])
            out["corrected"] = [f for f in findings
                                if f.corrected is not None and f.corrected.estimate is not None]
    except LevelheadError as exc:
        out["problem"] = str(exc)
    return out
