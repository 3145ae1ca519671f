"""How quick the web app answers on a large store (issue 17): the median time of the runs page,
of transcript pages (first, deep, filtered, text search), of one sample's page, and of a label
write (a POST that stores a label, timed to its redirect), against a real uvicorn on 127.0.0.1.

    python bench/bench_serve.py                 # a 100,000-sample run (100 prompts x N=1,000)
    python bench/bench_serve.py --samples 10000 # smaller
"""

from __future__ import annotations

import argparse
import re
import socket
import statistics
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

REPLIES = ["Sure, restart the router.", "You idiot, read the manual.", "The file is in Downloads.",
           "I would rather not say."]


def _store(folder: Path, samples: int) -> tuple[Path, int]:
    from levelhead import open_store, run_audit
    from levelhead.spec import spec_from_dict

    prompts = 100
    spec = spec_from_dict({
        "run": {"name": "big", "samples": max(1, samples // prompts), "seed": 1},
        "targets": [{"name": "bot", "kind": "scripted", "replies": REPLIES,
                     "weights": [10, 1, 6, 3]}],
        "probes": [{"name": "custom", "judges": ["abuse.lexicon"],
                    "prompts": [{"id": f"p{i}", "text": f"Question {i}?",
                                 "tags": {"lang": "en" if i % 2 else "zh"}}
                                for i in range(prompts)]}]})
    path = folder / "big.db"
    store = open_store(path)
    try:
        return path, run_audit(spec, store).run_id
    finally:
        store.close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


def _timed(opener: urllib.request.OpenerDirector, url: str, data: dict[str, str] | None = None,
           ) -> tuple[float, int, str]:
    body = None if data is None else urllib.parse.urlencode(data).encode()
    start = time.perf_counter()
    try:
        with opener.open(urllib.request.Request(url, data=body), timeout=60) as resp:
            text, status = resp.read().decode(), resp.status
    except urllib.error.HTTPError as err:
        text, status = err.read().decode(), err.code
    return (time.perf_counter() - start) * 1000, status, text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args()

    import uvicorn

    from levelhead.web import create_app

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        path, run_id = _store(Path(tmp), args.samples)
        print(f"store: {args.samples:,} samples in {time.perf_counter() - start:.1f} s "
              f"({path.stat().st_size / 1e6:.0f} MB)")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(create_app(str(path)), host="127.0.0.1",
                                               port=port, log_level="warning", access_log=False))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.02)
        base = f"http://127.0.0.1:{port}"
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()),
                                             _NoRedirect)
        pages = args.samples // 50
        sample_page = _timed(opener, f"{base}/runs/{run_id}/samples")[2]
        sid = re.search(r"/samples/(\d+)\"", sample_page).group(1)  # type: ignore[union-attr]
        paths = {"runs page /": "/",
                 "run page (every finding, computed)": f"/runs/{run_id}",
                 "transcripts, page 1": f"/runs/{run_id}/samples",
                 f"transcripts, page {pages // 2:,}": f"/runs/{run_id}/samples?page={pages // 2}",
                 "transcripts, judge + label filter": f"/runs/{run_id}/samples?judge=abuse.lexicon"
                                                      "&label=abusive",
                 "transcripts, prompt + lang filter": f"/runs/{run_id}/samples?prompt=p7&lang=en",
                 "transcripts, text search": f"/runs/{run_id}/samples?q=Downloads",
                 "one sample": f"/runs/{run_id}/samples/{sid}"}
        print(f"\n{'page':<38} {'median ms':>10} {'p90 ms':>8}")
        for name, rel in paths.items():
            times = []
            for _ in range(args.repeat):
                ms, status, _ = _timed(opener, base + rel)
                assert status == 200, (rel, status)
                times.append(ms)
            times.sort()
            print(f"{name:<38} {statistics.median(times):>10.1f} "
                  f"{times[int(0.9 * (len(times) - 1))]:>8.1f}")
        # label writes: draw a queue, then label its items one POST each
        form = _timed(opener, f"{base}/runs/{run_id}/reviews")[2]
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', form).group(1)  # type: ignore[union-attr]
        _, status, _ = _timed(opener, f"{base}/runs/{run_id}/reviews",
                              {"csrf": csrf, "judge": "abuse.lexicon", "size": "200",
                               "name": "bench"})
        assert status == 303, status
        from levelhead import open_store

        store = open_store(path, read_only=True)
        queue = store.find_review_queue(run_id, "bench")
        items = store.review_items(queue.id)
        store.close()
        writes = []
        for it in items[:args.repeat * 2]:
            ms, status, _ = _timed(opener, f"{base}/reviews/{queue.id}/label",
                                   {"csrf": csrf, "reviewer": "bench", "sample_id":
                                    str(it.sample_id), "label": "clean"})
            assert status == 303, status
            writes.append(ms)
        writes.sort()
        print(f"{'label write (POST to redirect)':<38} {statistics.median(writes):>10.1f} "
              f"{writes[int(0.9 * (len(writes) - 1))]:>8.1f}")
        server.should_exit = True
        thread.join(timeout=10)


if __name__ == "__main__":
    main()
