"""How often a content filter withheld replies, and withheld benign ones: real runs of one spec
directly against a model and through a real ``levelhead guard`` in front of it, read back from
the SQLite store (``analysis.content_filter_rows``, and compare, which carries its rows)."""

from __future__ import annotations

import pytest

from insulting_upstream import InsultingUpstream, serve_guarded
from levelhead import open_store, run_audit
from levelhead.analysis import RunData, Table, content_filter_rows, load_run_data
from levelhead.guard import GuardPolicy, default_policy, policy_from_dict
from levelhead.report import compare_runs
from levelhead.report._compare import (
    comparison_markdown,
    comparison_section,
    content_filter_warnings,
)
from levelhead.spec import AuditSpec, spec_from_dict

# Ten prompts: two the model insults, three it answers firmly (benign: it asks for specifics),
# five it answers plainly.
PROMPTS = ([{"id": f"rude{i}", "text": f"rude: question {i}"} for i in range(2)]
           + [{"id": f"firm{i}", "text": f"firm: question {i}"} for i in range(3)]
           + [{"id": f"plain{i}", "text": f"question {i}"} for i in range(5)])
SAMPLES = 4
JUDGES = ["abuse.lexicon", "pressure.rules"]
# A guard that over-blocks: besides abuse, it withholds the firm replies the judges call benign.
STRICT = {"rules": [{"judge": "abuse.lexicon", "labels": ["abusive"], "action": "block"},
                    {"judge": "pressure.rules", "labels": ["firm"], "action": "block"}]}


def _spec(name: str, url: str, probe: dict) -> AuditSpec:
    return spec_from_dict({
        "run": {"name": name, "samples": SAMPLES, "seed": 5},
        "targets": [{"name": "bot", "kind": "openai", "base_url": url, "model": "insulting-1",
                     "api_key_env": None, "max_retries": 0}],
        "probes": [probe]})


def _audit(store_path: str, probe: dict, policy: GuardPolicy | None = None, *,
           vary: bool = False) -> tuple[RunData, RunData]:
    """Run ``probe`` directly and through the guard; the two runs as findings read them."""
    store = open_store(store_path)
    with serve_guarded(InsultingUpstream(vary=vary), policy) as (upstream, guard):
        direct = run_audit(_spec("direct", upstream, probe), store).run_id
        guarded = run_audit(_spec("guarded", guard, probe), store).run_id
    return load_run_data(store, direct), load_run_data(store, guarded)


CUSTOM = {"name": "custom", "judges": JUDGES, "prompts": PROMPTS}


def test_an_over_blocking_guard_shows_its_false_blocks(store_path):
    direct, guarded = _audit(store_path, CUSTOM, policy_from_dict(STRICT, "strict policy"))
    rows = {r.side: r for r in content_filter_rows(direct, guarded, [("bot", "bot")])}
    d, g = rows["direct/bot"], rows["guarded/bot"]
    assert g.unit == "sample" and g.other == "direct/bot" and g.judges == tuple(JUDGES)
    # Withheld: the insults and the firm replies, 5 prompts of 10.
    assert (g.blocked.k, g.blocked.n, g.blocked.prompts) == (5 * SAMPLES, 10 * SAMPLES, 10)
    # Benign on the direct side: the firm and the plain replies (8 prompts); of those, the guard
    # withheld the firm ones: 3 of 8.
    fb = g.false_blocks
    assert (fb.k, fb.n, fb.prompts) == (3 * SAMPLES, 8 * SAMPLES, 8)
    assert fb.estimate == pytest.approx(3 / 8)
    assert fb.interval.low < 3 / 8 < fb.interval.high and "wilson" in fb.interval.method
    # Every prompt's samples agree, so the clustered interval is wider than the naive one.
    assert fb.interval.high - fb.interval.low > 0.3
    # The direct side withheld nothing; its benign replies are those the guard let through.
    assert (d.blocked.k, d.blocked.n, d.false_blocks.k, d.false_blocks.n) == (
        0, 10 * SAMPLES, 0, 5 * SAMPLES)
    assert d.false_blocks.missing == 5 * SAMPLES  # withheld on the other side: not judgeable
    # The model answers alike: every reply both sides delivered is the same text.
    assert g.same_reply == (5 * SAMPLES, 5 * SAMPLES) and not g.replies_differ
    assert g.diverged == 0


def test_the_default_guard_blocks_the_insults_only(store_path):
    direct, guarded = _audit(store_path, CUSTOM)
    result = compare_runs(direct, guarded)
    g = next(r for r in result.content_filter if r.side == "guarded/bot")
    assert (g.blocked.k, g.false_blocks.k, g.false_blocks.n) == (2 * SAMPLES, 0, 8 * SAMPLES)
    assert g.false_blocks.interval.low == 0 < g.false_blocks.interval.high < 0.2
    abusive = next(r for r in result.rows if r.metric == "rate:abuse.lexicon")
    assert abusive.difference.baseline_rate == pytest.approx(0.2)
    assert abusive.difference.candidate_rate == 0
    doc = result.to_json()
    assert '"content_filter": [' in doc and '"false_blocks"' in doc
    # The report's comparison carries the same table, in the reader's language.
    for lang, title, cell in (("en", "Blocked by a content filter", "20 % (8)"),
                              ("zh", "被内容过滤器拦截", "20% (8)")):
        (table,) = [b for b in comparison_section(result, lang).blocks
                    if isinstance(b, Table) and b.caption == title]
        assert ("guarded/bot", "custom", "40", cell) == table.rows[1][:4]


def test_a_target_that_does_not_answer_alike_is_named_in_a_warning(store_path):
    direct, guarded = _audit(store_path, CUSTOM, vary=True)
    result = compare_runs(direct, guarded)
    g = next(r for r in result.content_filter if r.side == "guarded/bot")
    # The plain replies differ between the runs (the firm ones do not: 3 of 8 prompts).
    assert g.same_reply == (3 * SAMPLES, 8 * SAMPLES) and g.replies_differ
    (warning,) = content_filter_warnings(result)
    assert warning.startswith("custom: 20 of 32 replies that direct/bot and guarded/bot both "
                              "delivered after the same conversation differ")
    assert "temperature 0" in warning
    assert warning in comparison_markdown(result)


def test_without_a_content_filter_there_is_nothing_to_report(store_path):
    store = open_store(store_path)
    with serve_guarded() as (upstream, _guard):
        a = run_audit(_spec("a", upstream, CUSTOM), store).run_id
        b = run_audit(_spec("b", upstream, CUSTOM), store).run_id
    first, second = load_run_data(store, a), load_run_data(store, b)
    assert content_filter_rows(first, second, [("bot", "bot")]) == []
    result = compare_runs(first, second)
    assert result.content_filter == () and '"content_filter": []' in result.to_json()


def test_conversation_turns_pair_by_prompt_sample_and_turn(store_path):
    pressure = {"name": "pressure.demanding_user", "languages": ["en", "zh"], "limit": 1,
                "max_turns": 9, "personas": ["reviser", "rude"]}
    direct, guarded = _audit(store_path, pressure, default_policy())
    rows = {r.side: r for r in content_filter_rows(direct, guarded, [("bot", "bot")])}
    g = rows["guarded/bot"]
    conversations = 2 * 2 * SAMPLES  # languages x personas x samples
    assert g.unit == "turn"
    assert (g.blocked.k, g.blocked.n) == (2 * conversations, 9 * conversations)  # turns 8, 9
    assert (g.false_blocks.k, g.false_blocks.n) == (0, 7 * conversations)
    assert g.false_blocks.prompts == 4
    # Turn 9 follows a withheld turn 8: the conversations parted, so it is not paired.
    assert g.diverged == conversations and g.same_reply == (7 * conversations,) * 2
