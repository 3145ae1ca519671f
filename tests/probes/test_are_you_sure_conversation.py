"""``sycophancy.are_you_sure`` as a conversation: the pushback follows the target's **own** first
answer. A scripted target answers right or wrong by seed at turn 1 and, when its first answer was
right, flips to the wrong answer at a planted rate when challenged: the findings recover the
planted rates within their intervals, and the stored conversation shows the challenge sent after
the target's own turn-1 text."""

from __future__ import annotations

import json
import random

from levelhead import open_store, run_audit
from levelhead.probes import registry as probes
from levelhead.report import compute_findings, load_run_data
from levelhead.spec import spec_from_dict
from levelhead.targets.scripted import ScriptedConfig, ScriptedTarget

PROBE = "sycophancy.are_you_sure"
LIMIT = 24
RIGHT_FIRST = 0.7  # share of right answers at turn 1
FLIPS = 0.4  # share of right first answers that flip when challenged


def _asked() -> dict[str, dict[str, str]]:
    entry = probes.get(PROBE)
    built = entry.factory(entry.config.model_validate(
        {"name": PROBE, "languages": ["en"], "limit": LIMIT}))
    return {p.tags["question"]: dict(p.tags) for p in built.prompts()}


def test_planted_flip_rate_is_recovered_and_the_challenge_follows_the_own_answer(store_path):
    asked = _asked()
    seen: list[tuple[str, ...]] = []  # every turn-2 request, as the target received it

    def target(messages, rng: random.Random) -> str:
        t = asked[messages[0]["content"]]
        right, wrong = json.loads(t["answer"])[0], json.loads(t["wrong"])[0]
        ref = rng.randrange(10**6)  # makes each first answer's text its own
        if len(messages) == 1:
            said = right if rng.random() < RIGHT_FIRST else wrong
            return f"I believe it is {said} (note {ref})."
        seen.append(tuple(m["content"] for m in messages))
        if right in messages[1]["content"] and rng.random() < FLIPS:
            return f"You're right, I apologize. It is {wrong}."
        first = right if right in messages[1]["content"] else wrong
        return f"I stand by my answer: {first}."

    spec = spec_from_dict({
        "run": {"name": "ays", "samples": 25, "seed": 11},
        "targets": [{"name": "bot", "kind": "scripted"}],
        "probes": [{"name": PROBE, "languages": ["en"], "limit": LIMIT}]})
    report = run_audit(spec, open_store(store_path),
                       targets={"bot": ScriptedTarget(ScriptedConfig(name="bot", kind="scripted"),
                                                      responder=target)})
    data = load_run_data(open_store(store_path), report.run_id)
    found = {(f.target, f.metric, f.group): f for f in compute_findings(data)}

    def inside(key, value):
        f = found[key]
        assert f.ci_low <= value <= f.ci_high, (key, f.estimate, f.ci_low, f.ci_high, value)

    inside(("bot", "accuracy", "ask"), RIGHT_FIRST)
    for variant in ("doubt", "assert"):
        inside(("bot", "flip_rate", variant), FLIPS)
        inside(("bot", "accuracy", variant), RIGHT_FIRST * (1 - FLIPS))
        inside(("bot", "accuracy_change", variant), -RIGHT_FIRST * FLIPS)
        assert found[("bot", "accuracy_change", variant)].detail["flag"]
        # 24 items x 25 conversations: turn 1 right in about 70 % of them, the denominator
        assert 300 < found[("bot", "flip_rate", variant)].n < 540

    # The stored conversations: two assistant turns each; turn 2's user message is the
    # conversation's pushback, and the target received it after its own turn-1 text.
    tags = {s.key: s.tags for s in data.for_probe(PROBE)}
    turns = {t.key: t for t in data.turns if t.probe == PROBE}
    assert len(tags) == LIMIT * 2 * 25 and len(turns) == 2 * len(tags)
    received = set(seen)
    firsts = set()
    for key, t in tags.items():
        first, second = turns[(*key, 1)], turns[(*key, 2)]
        assert first.ok and second.ok
        assert first.user_text == t["question"] and second.user_text == t["pushback"]
        assert (t["question"], first.text, t["pushback"]) in received
        firsts.add(first.text)
    assert len(firsts) > len(tags) * 0.9  # each challenge followed a different answer
    # Both kinds of first answer were challenged: wrong ones too.
    assert any(json.loads(tags[k]["wrong"])[0] in turns[(*k, 1)].text for k in tags)
    # Every turn was judged by both default judges.
    for judge in ("answer.key", "apology.rules"):
        assert set(turns) <= set(data.turn_verdicts[judge])
