"""Browsing: the runs, a run's findings, its transcripts a page at a time, one sample whole, the
full report, and two runs compared."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from levelhead.analysis import Language
from levelhead.store import Store
from levelhead.web._context import Web
from levelhead.web._security import REPORT_CSP

PAGE = 50
FILTERS = ("probe", "prompt", "target", "judge", "label", "lang", "q")


def routes(web: Web) -> list[Route]:
    """The browsing routes."""
    async def runs(request: Request) -> Response:
        return web.page(request, "runs.html.j2", runs=await web.use(_runs))

    async def run(request: Request) -> Response:
        ref = request.path_params["run"]
        context = await web.use(lambda s: _run_context(s, ref))
        return web.page(request, "run.html.j2", **context)

    async def report(request: Request) -> Response:
        ref = request.path_params["run"]
        lang: Language = "zh" if request.query_params.get("lang") == "zh" else "en"

        other = request.query_params.get("compare") or None  # a run's name or id, never a path

        def build(s: Store) -> str:
            from levelhead.report import build_report

            baseline = None if other is None else s.find_run(other).id
            return build_report(s, s.find_run(ref).id, compare=baseline, lang=lang).html
        html = await web.use(build)
        return HTMLResponse(html, headers={"Content-Security-Policy": REPORT_CSP})

    async def samples(request: Request) -> Response:
        ref = request.path_params["run"]
        chosen = {k: request.query_params.get(k, "").strip() for k in FILTERS}
        page = _int(request.query_params.get("page"), 1)

        def read(s: Store) -> dict[str, Any]:
            r = s.find_run(ref)
            rows, total = s.sample_page(
                r.id, probe=chosen["probe"] or None, prompt=chosen["prompt"] or None,
                target=chosen["target"] or None, judge=chosen["judge"] or None,
                label=chosen["label"] or None,
                lang=None if not chosen["lang"] else "" if chosen["lang"] == "-" else chosen["lang"],
                query=chosen["q"] or None, offset=(page - 1) * PAGE, limit=PAGE)
            return {"run": r, "rows": rows, "total": total, "probes": s.probes_of(r.id)}
        context = await web.use(read)
        pages = max(1, -(-context["total"] // PAGE))
        keep = {k: v for k, v in chosen.items() if v}
        return web.page(request, "samples.html.j2", filters=chosen, keep=keep, page=page,
                        pages=pages, **context)

    async def sample(request: Request) -> Response:
        ref, sid = request.path_params["run"], request.path_params["sample"]

        def read(s: Store) -> dict[str, Any]:
            r = s.find_run(ref)
            return {"run": r, "sample": s.browse_sample(r.id, sid)}
        return web.page(request, "sample.html.j2", **await web.use(read))

    async def compare(request: Request) -> Response:
        a, b = request.query_params.get("a", ""), request.query_params.get("b", "")
        context: dict[str, Any] = {"a": a, "b": b, "runs": await web.use(lambda s: s.list_runs())}
        if a and b:
            context.update(await web.use(lambda s: _compare(s, a, b)))
        return web.page(request, "compare.html.j2", **context)

    return [Route("/", runs, methods=["GET"]),
            Route("/compare", compare, methods=["GET"]),
            Route("/runs/{run}", run, methods=["GET"]),
            Route("/runs/{run}/report", report, methods=["GET"]),
            Route("/runs/{run}/samples", samples, methods=["GET"]),
            Route("/runs/{run}/samples/{sample:int}", sample, methods=["GET"])]


def _runs(s: Store) -> list[dict[str, Any]]:
    out = []
    for info in s.list_runs():
        r = s.find_run(info.id)
        out.append({"info": info, "n": r.samples, "probes": s.probes_of(info.id)})
    return out


def _int(text: str | None, default: int) -> int:
    if text is None or not text.strip():
        return default
    value = text.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 9 or int(value) < 1:
        raise HTTPException(400, f"not a page number: {text[:20]!r}")
    return int(value)


def _run_context(s: Store, ref: str) -> dict[str, Any]:
    from levelhead.analysis import attention
    from levelhead.report import compute_findings, load_run_data

    r = s.find_run(ref)
    data = load_run_data(s, r.id)
    findings = compute_findings(data)
    judged = attention(findings)
    status = {id(a.finding): a for a in judged}
    info = next((x for x in s.list_runs() if x.id == r.id), None)
    return {"run": r, "info": info, "incomplete": data.incomplete,
            "flagged": [a for a in judged if a.flagged],
            "findings": [(f, status.get(id(f))) for f in findings
                         if f.metric != "completeness"],
            "queues": s.review_queues(r.id), "probes": s.probes_of(r.id)}


def _compare(s: Store, a: str, b: str) -> dict[str, Any]:
    from levelhead.errors import LevelheadError
    from levelhead.report import compare_runs, load_run_data
    from levelhead.report._compare import comparison_rows, correction_sentence

    try:
        base = load_run_data(s, s.find_run(a).id)
        cand = load_run_data(s, s.find_run(b).id)
        result = compare_runs(base, cand)
    except (LevelheadError, ValueError) as exc:
        return {"problem": str(exc)}
    return {"rows": comparison_rows(result), "sentence": correction_sentence(result),
            "note": result.incomplete_note()}
