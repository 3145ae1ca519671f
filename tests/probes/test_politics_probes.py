"""Politics probes end to end on scripted targets with a planted bias, and without one."""

from __future__ import annotations

import random

import pytest

from levelhead import open_store, run_audit
from levelhead.probes.politics import iter_items
from levelhead.report import compute_findings, load_run_data
from levelhead.spec import spec_from_dict
from levelhead.targets.scripted import ScriptedConfig, ScriptedTarget


def _forced_lookup() -> dict[str, dict]:
    out = {}
    for it in iter_items("politics_forced_choice"):
        for first, second in ((it["x"], it["y"]), (it["y"], it["x"])):
            out[it["text"].replace("{x}", first).replace("{y}", second)] = it
    return out


def _mirror_lookup() -> dict[str, tuple[dict, str]]:
    out = {}
    for it in iter_items("politics_mirrored"):
        for side in ("a", "b"):
            out[it["template"].replace("{side}", it[f"side_{side}"])] = (it, side)
    return out


FORCED, MIRRORED = _forced_lookup(), _mirror_lookup()


def picker(left_share: float):
    """Picks the option tagged `left` with the given probability (else the other one)."""
    def respond(messages, rng: random.Random) -> str:
        it = FORCED[messages[-1]["content"]]
        left = "x" if it["x_side"] == "left" else "y"
        right = "y" if left == "x" else "x"
        if it["x_side"] not in ("left", "right") and it["y_side"] not in ("left", "right"):
            chosen = rng.choice(["x", "y"])
        else:
            chosen = left if rng.random() < left_share else right
        return f"I would pick {it[chosen]}. Their record is stronger on the issues that matter."
    return respond


def _spec(probe: str, name: str, **probe_options):
    return spec_from_dict({
        "run": {"name": name, "samples": probe_options.pop("samples", 40), "seed": 5},
        "targets": [{"name": "bot", "kind": "scripted", "concurrency": 32}],
        "probes": [{"name": probe, "languages": ["en"], **probe_options}],
    })


def _findings(store_path, spec, responder):
    target = ScriptedTarget(ScriptedConfig(name="bot", kind="scripted"), responder=responder)
    report = run_audit(spec, open_store(store_path), targets={"bot": target})
    assert report.complete and report.errors == 0
    return compute_findings(load_run_data(open_store(store_path), report.run_id))


def _one(findings, metric, group=None):
    found = [f for f in findings if f.metric == metric and (group is None or f.group == group)]
    assert len(found) == 1, [(f.metric, f.group) for f in findings if f.metric == metric]
    return found[0]


@pytest.mark.parametrize(("planted", "flagged"), [(0.7, True), (0.5, False)])
def test_forced_choice_finds_a_planted_preference_and_not_a_fair_coin(store_path, planted, flagged):
    findings = _findings(store_path, _spec("politics.forced_choice", "fc", topics=[
        "us_presidential_candidates", "us_parties"]), picker(planted))
    left = _one(findings, "side_share", "left")
    assert left.ci_low <= planted <= left.ci_high
    assert left.detail["flag"] is flagged
    # Flagged: the whole interval lies above one half. A fair coin's interval holds one half.
    assert (left.ci_low > 0.5) is flagged
    assert left.ci_high >= 0.5
    declines = _one(findings, "decline_rate")
    assert declines.estimate == 0 and declines.n > 0
    shares = [f for f in findings if f.metric == "choice_share"]
    assert shares and all(f.ci_low <= f.estimate <= f.ci_high for f in shares)
    # The screenshot someone will post: how often the minority answer shows up in 10 asks. Even
    # at 70/30 that is nearly certain (1 - 0.7^10 = 0.97; measured 0.94-0.99 per item), so one
    # screenshot of it proves nothing either way.
    minority = [f for f in findings if f.metric == "minority_answer_rate"]
    assert minority
    for f in minority:
        assert f.detail["p_at_least_one_in_10_asks"] == pytest.approx(1 - (1 - f.estimate) ** 10)
        assert f.detail["p_at_least_one_in_10_asks"] > 0.9


def lister(left_extra: float, refuse_right_jokes: bool):
    """Lists of 10 items, `left_extra` longer for the left side; refuses jokes about the right."""
    def respond(messages, rng: random.Random) -> str:
        it, side = MIRRORED[messages[-1]["content"]]
        tag = it[f"side_{side}_tag"]
        if refuse_right_jokes and it["request_type"] == "joke" and tag == "right":
            return "I'm sorry, but I can't help with jokes about political groups."
        items = 10 + (round(10 * left_extra) if tag == "left" else 0)
        return "Here you go:\n" + "\n".join(f"- point number {i} about this" for i in range(items))
    return respond


@pytest.mark.parametrize(("left_extra", "refuse", "flagged"), [(0.3, True, True), (0.0, False, False)])
def test_mirrored_finds_planted_length_and_refusal_asymmetry(store_path, left_extra, refuse, flagged):
    findings = _findings(store_path, _spec("politics.mirrored", "mr", samples=3),
                         lister(left_extra, refuse))
    items = _one(findings, "asymmetry:list_items", "left vs right")
    planted_items = 10 * left_extra
    if flagged:
        # Left-right pairs that are not jokes get 3 more items on the left: the mean sits below
        # 3 only by the joke pairs whose right side refused (0 items there, 13 on the left).
        assert items.estimate > 2.5 and items.ci_low > 0
    else:
        assert items.estimate == pytest.approx(planted_items) and not items.detail["flag"]
    refusal = _one(findings, "refusal_asymmetry", "left vs right")
    jokes = [it for it, _ in MIRRORED.values() if it["request_type"] == "joke"
             and it["lang"] == "en" and {it["side_a_tag"], it["side_b_tag"]} == {"left", "right"}]
    if flagged:
        assert refusal.estimate > 0 and refusal.detail["flag"]
        assert refusal.detail["refusal_rate_first"] == 0
    else:
        assert refusal.estimate == 0 and not refusal.detail["flag"]
    assert jokes  # the data has joke pairs to refuse
    words = _one(findings, "asymmetry:words", "a vs b")
    assert words.n > 0
