"""The web app over HTTP, against a real uvicorn on 127.0.0.1 and a store made by real runs:
the pages list, filter, page and show what a person needs; replies stay text; every response
carries a Content-Security-Policy; the token and the CSRF check refuse what they should."""

from __future__ import annotations

import html
import re
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest
from click.testing import CliRunner
from markupsafe import escape
from webapp import HOSTILE, IMG, INSULT, LINK, SCRIPT, Served, Stored, stored, web_server  # noqa: F401

from levelhead.store import open_store


class Browser:
    """A cookie-keeping HTTP client (stdlib) that does not follow redirects."""

    def __init__(self, base: str, headers: dict[str, str] | None = None) -> None:
        self.base = base
        self.jar = CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
                return None

        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar),
                                                  NoRedirect)
        self.headers = headers or {}

    def request(self, path: str, data: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
        body = None if data is None else urllib.parse.urlencode(data).encode()
        req = urllib.request.Request(self.base + path, data=body,
                                     headers={**self.headers, **(headers or {})})
        try:
            with self.opener.open(req, timeout=30) as resp:
                return resp.status, dict(resp.headers), resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read().decode()

    def get(self, path: str) -> str:
        status, _, text = self.request(path)
        assert status == 200, (status, text[:500])
        return text


@pytest.fixture(scope="module")
def app(web_server) -> Served:  # noqa: F811
    return web_server()


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found, "no CSRF token in the form"
    return found.group(1)


def test_runs_page_lists_runs_newest_first_with_status_and_counts(app: Served) -> None:
    page = Browser(app.url).get("/")
    rows = re.findall(r'<a href="/runs/(\d+)">([^<]+)</a>', page)
    assert [name for _, name in rows] == ["web", "older"]
    assert "partial" not in page and "complete" in page  # errors are stored samples too
    assert "bot, broken" in page and "custom" in page


def test_run_page_shows_flagged_findings_with_intervals_and_links(app: Served,
                                                                  stored: Stored) -> None:  # noqa: F811
    page = Browser(app.url).get(f"/runs/{stored.run_id}")
    assert 'id="flagged"' in page and "rate:abuse.lexicon" in page
    assert re.search(r"\d+\.\d % – \d+\.\d %", page), "intervals are shown"
    for link in ("samples", "report", "reviews"):
        assert f'href="/runs/{stored.run_id}/{link}"' in page


def test_filters_narrow_the_transcripts_and_pages_hold_fifty(app: Served,
                                                             stored: Stored) -> None:  # noqa: F811
    b = Browser(app.url)
    base = f"/runs/{stored.run_id}/samples"
    everything = b.get(base)
    assert "240 samples" in everything and "page 1 of 5" in everything
    assert len(re.findall(r'<tr class="sample">', everything)) == 50
    second = b.get(base + "?page=2")
    first_ids = set(re.findall(r"/samples/(\d+)\"", everything))
    assert first_ids.isdisjoint(re.findall(r"/samples/(\d+)\"", second))
    s = open_store(stored.path, read_only=True)
    try:
        truth = {
            "target=broken": s.sample_page(stored.run_id, target="broken")[1],
            "judge=abuse.lexicon&label=abusive": s.sample_page(
                stored.run_id, judge="abuse.lexicon", label="abusive")[1],
            "prompt=wifi&target=bot": s.sample_page(stored.run_id, prompt="wifi", target="bot")[1],
            "lang=zh": s.sample_page(stored.run_id, lang="zh")[1],
            "q=idiot": s.sample_page(stored.run_id, query="idiot")[1],
        }
    finally:
        s.close()
    assert truth["target=broken"] == 120 and truth["lang=zh"] == 80
    for query, n in truth.items():
        page = b.get(f"{base}?{query}&probe=custom")
        assert f"{n} sample" in page, query
    idiot = b.get(base + "?q=idiot")
    assert INSULT in idiot and "Downloads" not in idiot
    labelled = b.get(base + "?judge=abuse.lexicon&label=abusive")
    assert "abuse.lexicon: clean" not in labelled and "abuse.lexicon: abusive" in labelled


def test_a_sample_page_shows_the_whole_conversation_and_every_verdict(app: Served,
                                                                       stored: Stored) -> None:  # noqa: F811
    b = Browser(app.url)
    listing = b.get(f"/runs/{stored.run_id}/samples?q=idiot&target=bot")
    sid = re.search(r"/samples/(\d+)\"", listing).group(1)  # type: ignore[union-attr]
    page = b.get(f"/runs/{stored.run_id}/samples/{sid}")
    assert "My wifi is down." in page or "Where is my file?" in page or "我的文件" in page
    assert INSULT in page
    row = re.search(r'<tr class="verdict">(.*?)</tr>', page, re.S).group(1)  # type: ignore[union-attr]
    assert "abuse.lexicon" in row and "abusive" in row and "languages" in html.unescape(row)
    status, _, _ = b.request(f"/runs/{stored.run_id}/samples/999999")
    assert status == 404


def test_hostile_replies_stay_text_and_every_response_has_a_csp(app: Served,
                                                                stored: Stored) -> None:  # noqa: F811
    b = Browser(app.url)
    for path in ("/", f"/runs/{stored.run_id}/samples?q=alert", "/static/levelhead.js",
                 f"/runs/{stored.run_id}/reviews", "/nowhere"):
        status, headers, page = b.request(path)
        csp = headers.get("content-security-policy", "")
        assert "default-src 'self'" in csp and "script-src 'self'" in csp, path
        assert "unsafe-inline" not in csp.split("style-src")[0], path
        assert headers.get("x-content-type-options") == "nosniff"
    page = b.get(f"/runs/{stored.run_id}/samples?q=alert")
    assert SCRIPT not in page and IMG not in page and LINK not in page
    assert html.escape(SCRIPT) in page and html.escape(IMG, quote=False) in page
    assert 'href="javascript:' not in page
    assert "<script" not in page.replace('<script src="/static/levelhead.js" defer></script>', "")
    sid = re.search(r"/samples/(\d+)\"", page).group(1)  # type: ignore[union-attr]
    whole = b.get(f"/runs/{stored.run_id}/samples/{sid}")
    assert HOSTILE not in whole and str(escape(HOSTILE)) in whole
    _, headers, report = b.request(f"/runs/{stored.run_id}/report")
    assert "sandbox" in headers["content-security-policy"] and SCRIPT not in report


def test_compare_two_runs(app: Served) -> None:
    b = Browser(app.url)
    page = b.get("/compare?a=older&b=web")
    assert 'id="compare"' in page and "abuse.lexicon" in page
    link = html.unescape(re.search(r'id="forest" href="([^"]+)"', page).group(1))  # type: ignore[union-attr]
    assert link == "/runs/web/report?compare=older"
    report = b.get(link)
    assert "older" in report and "Plotly" in report


def test_a_token_is_needed_on_every_request_when_one_is_set(web_server) -> None:  # noqa: F811
    served = web_server(token="s3cret-token")
    anon = Browser(served.url)
    for path in ("/", "/static/levelhead.js", "/runs/1/samples", "/?token=wrong"):
        status, headers, text = anon.request(path)
        assert status == 401, path
        assert "s3cret-token" not in text
        assert "content-security-policy" in {k.lower() for k in headers}
    status, _, _ = anon.request("/runs/1/reviews", data={"judge": "x"})
    assert status == 401
    assert Browser(served.url, {"Authorization": "Bearer s3cret-token"}).request("/")[0] == 200
    assert Browser(served.url, {"Authorization": "Bearer nope"}).request("/")[0] == 401
    # ?token= once: a cookie (HttpOnly, SameSite=Strict) and on to the address without it
    status, headers, _ = anon.request("/?token=s3cret-token")
    assert status == 303 and headers["location"] == "/"
    cookie = headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert anon.request("/")[0] == 200


def test_without_a_token_only_a_local_host_name_is_answered(app: Served) -> None:
    """DNS rebinding: another site's name that resolves to 127.0.0.1 gets nothing."""
    b = Browser(app.url)
    assert b.request("/", headers={"Host": "evil.example"})[0] == 400
    assert b.request("/", headers={"Host": "evil.example:8000"})[0] == 400
    port = app.url.rsplit(":", 1)[1]
    assert b.request("/", headers={"Host": f"localhost:{port}"})[0] == 200


def test_posts_without_the_csrf_token_or_from_another_site_are_refused(app: Served,
                                                                        stored: Stored) -> None:  # noqa: F811
    b = Browser(app.url)
    form_page = b.get(f"/runs/{stored.run_id}/reviews")
    token = _csrf(form_page)
    path = f"/runs/{stored.run_id}/reviews"
    fields = {"judge": "abuse.lexicon", "size": "10", "seed": "1", "name": "csrf-check"}
    assert b.request(path, data=fields)[0] == 403  # no token
    assert b.request(path, data={**fields, "csrf": "0" * 64})[0] == 403  # a wrong one
    other = Browser(app.url)  # another browser: its own cookie, so this token does not fit
    other.get("/")
    assert other.request(path, data={**fields, "csrf": token})[0] == 403
    status, _, _ = b.request(path, data={**fields, "csrf": token},
                             headers={"Origin": "http://evil.example"})
    assert status == 403
    status, _, _ = b.request(path, data={**fields, "csrf": token},
                             headers={"Referer": "http://evil.example/page"})
    assert status == 403
    status, headers, _ = b.request(path, data={**fields, "csrf": token},
                                   headers={"Origin": app.url})
    assert status == 303 and re.fullmatch(r"/reviews/\d+", headers["location"])
    s = open_store(stored.path, read_only=True)
    try:
        assert [q.name for q in s.review_queues(stored.run_id)].count("csrf-check") == 1
    finally:
        s.close()


def test_label_blind_then_see_the_judge_and_undo(app: Served, stored: Stored) -> None:  # noqa: F811
    b = Browser(app.url)
    token = _csrf(b.get(f"/runs/{stored.run_id}/reviews"))
    _, headers, _ = b.request(f"/runs/{stored.run_id}/reviews",
                              data={"judge": "abuse.lexicon", "size": "6", "csrf": token,
                                    "name": "http-blind"})
    qid = headers["location"].rsplit("/", 1)[1]
    page = b.get(f"/reviews/{qid}/label?reviewer=ann")
    assert 'id="revealed"' not in page and "judge-said" not in page
    sid = re.search(r'name="sample_id" value="(\d+)"', page).group(1)  # type: ignore[union-attr]
    status, headers, _ = b.request(f"/reviews/{qid}/label",
                                   data={"csrf": _csrf(page), "reviewer": "ann",
                                         "sample_id": sid, "label": "clean", "note": "fine"})
    assert status == 303
    after = b.get(headers["location"])
    assert f'id="revealed" data-sample="{sid}"' in after and "judge-said" in after
    assert f'name="sample_id" value="{sid}"' not in after  # it moved on
    assert 'value="1" max="6"' in after
    status, headers, _ = b.request(f"/reviews/{qid}/undo",
                                   data={"csrf": _csrf(after), "reviewer": "ann"})
    again = b.get(headers["location"])
    assert f'name="sample_id" value="{sid}"' in again and 'value="0" max="6"' in again


def test_serve_without_the_web_extra_names_the_pip_command(monkeypatch: pytest.MonkeyPatch,
                                                           stored: Stored) -> None:  # noqa: F811
    import importlib.util

    from levelhead.cli import cli

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "starlette" else real(name, *a))
    result = CliRunner().invoke(cli, ["--store", str(stored.path), "serve"])
    assert result.exit_code != 0
    assert "pip install 'levelhead[web]'" in result.output


def test_another_reviewer_cannot_read_the_judge_or_the_first_reviewer_before_labelling(
        app: Served, stored: Stored) -> None:  # noqa: F811
    b = Browser(app.url)
    token = _csrf(b.get(f"/runs/{stored.run_id}/reviews"))
    _, headers, _ = b.request(f"/runs/{stored.run_id}/reviews",
                              data={"judge": "abuse.lexicon", "size": "8", "csrf": token,
                                    "name": "two-people"})
    qid = headers["location"].rsplit("/", 1)[1]
    # ann labels every reply against the judge (the opposite of its label): all disputed.
    s = open_store(stored.path, read_only=True)
    try:
        items = s.review_items(int(qid))
    finally:
        s.close()
    for _ in items:
        page = b.get(f"/reviews/{qid}/label?reviewer=ann")
        sid = re.search(r'name="sample_id" value="(\d+)"', page).group(1)  # type: ignore[union-attr]
        stratum = next(x.stratum for x in items if str(x.sample_id) == sid)
        b.request(f"/reviews/{qid}/label", data={
            "csrf": _csrf(page), "reviewer": "ann", "sample_id": sid,
            "label": "clean" if stratum == "abusive" else "abusive", "note": ""})
    label_page = b.get(f"/reviews/{qid}/label?reviewer=bob")
    assert f'href="/reviews/{qid}"' not in label_page  # no way to the answers from here
    queue_page = b.get(f"/reviews/{qid}")
    assert "Disputed (8)" in queue_page  # ann alone: every reply she labelled is listed
    # bob labels one reply: the others are no longer "labelled by every reviewer".
    sid = re.search(r'name="sample_id" value="(\d+)"', label_page).group(1)  # type: ignore[union-attr]
    b.request(f"/reviews/{qid}/label", data={"csrf": _csrf(label_page), "reviewer": "bob",
                                             "sample_id": sid, "label": "abusive", "note": ""})
    queue_page = b.get(f"/reviews/{qid}")
    assert "Disputed (1)" in queue_page and "bob: abusive" in queue_page


def test_the_no_language_filter_and_bad_numbers(app: Served, stored: Stored) -> None:  # noqa: F811
    b = Browser(app.url)
    base = f"/runs/{stored.run_id}/samples"
    assert "0 samples" in b.get(base + "?lang=-")  # every prompt of the run has a lang tag
    for bad in ("?page=%C2%B2", "?page=99999999999999999999999", "?page=0"):
        status, _, _ = b.request(base + bad)
        assert status == 400, bad
    status, _, _ = b.request("/reviews/99999999999999999999999")
    assert status == 404
