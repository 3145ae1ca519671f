"""The openai and anthropic kinds against a real local server: n batching and its fallback."""

from __future__ import annotations

import sqlite3

from conftest import make_spec, serve
from levelhead import open_store, run_audit
from levelhead.spec import spec_from_dict


def test_n_per_request_asks_for_several_samples_at_once(store_path):
    with serve(replies=[f"reply {i}" for i in range(100)]) as server:
        spec = make_spec(server.base_url, samples=10, prompts=2, n_per_request=4)
        report = run_audit(spec, open_store(store_path))
        assert server.mock.requests == 2 * 3  # 4 + 4 + 2 per prompt
    assert report.complete
    with sqlite3.connect(store_path) as c:
        texts = [r[0] for r in c.execute("SELECT text FROM samples")]
        tokens = c.execute("SELECT SUM(completion_tokens) FROM samples").fetchone()[0]
    assert len(texts) == 20 and len(set(texts)) == 20  # n choices are n distinct samples
    assert tokens > 0


def test_endpoint_that_ignores_n_falls_back_to_one_per_request(store_path):
    with serve(honour_n=False) as server:
        spec = make_spec(server.base_url, samples=6, prompts=2, n_per_request=4, concurrency=1)
        report = run_audit(spec, open_store(store_path))
        requests = server.mock.requests
    assert report.complete and report.sampled == 12
    assert requests == 12  # the first reply had one choice: from then on, one per request


def test_endpoint_that_rejects_n_falls_back(store_path):
    with serve(script=["400n"]) as server:
        spec = make_spec(server.base_url, samples=4, prompts=1, n_per_request=2, concurrency=1)
        report = run_audit(spec, open_store(store_path))
        assert server.mock.requests == 1 + 4  # the rejected one, then one sample per request
    assert report.complete and report.errors == 0


def test_other_bad_requests_are_not_mistaken_for_n(store_path):
    with serve(script=["400"]) as server:  # "mock 400": says nothing about n
        spec = make_spec(server.base_url, samples=2, prompts=1, n_per_request=2)
        run_audit(spec, open_store(store_path))
    with sqlite3.connect(store_path) as c:
        assert [r[0] for r in c.execute("SELECT status FROM samples")] == ["error", "error"]


def test_system_message_and_settings_are_sent(store_path):
    with serve() as server:
        server.mock.keep_bodies = True
        spec = make_spec(server.base_url, samples=1, prompts=1, system="Be brief.",
                         temperature=0.3, max_tokens=17, top_p=0.9)
        run_audit(spec, open_store(store_path))
        (body,) = server.mock.bodies
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["messages"][1]["role"] == "user"
    assert (body["temperature"], body["max_tokens"], body["top_p"]) == (0.3, 17, 0.9)
    assert "n" not in body


def test_anthropic_messages_api(store_path):
    with serve() as server:
        server.mock.keep_bodies = True
        url = server.base_url.removesuffix("/v1")
        spec = spec_from_dict({
            "run": {"name": "a", "samples": 2},
            "targets": [{"name": "claude", "kind": "anthropic", "base_url": url,
                         "model": "claude-x", "api_key_env": None, "system": "Be kind."}],
            "probes": [{"name": "custom", "prompts": [{"id": "q", "text": "Hello?"}]}],
        })
        report = run_audit(spec, open_store(store_path))
        body = server.mock.bodies[0]
    assert report.complete and report.errors == 0
    assert body["system"] == "Be kind." and body["messages"] == [{"role": "user", "content": "Hello?"}]
    samples = list(open_store(store_path).iter_samples(report.run_id))
    assert samples[0].messages[0].content == "Be kind."
    assert samples[0].finish_reason == "end_turn" and samples[0].completion_tokens == 100


def test_choices_out_of_order_keep_their_own_finish_reason():
    from levelhead.targets.openai_compat import parse_chat_completion

    data = {"choices": [
        {"index": 1, "finish_reason": "length", "message": {"content": "LONG TRUNCATED"}},
        {"index": 0, "finish_reason": "stop", "message": {"content": "short"}}]}
    out = parse_chat_completion(data, "t")
    assert [(c.text, c.finish_reason) for c in out] == [("short", "stop"), ("LONG TRUNCATED", "length")]
