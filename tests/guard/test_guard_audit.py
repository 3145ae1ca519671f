"""Audit through the guard (issue 18): the pressure probe run directly against a model that
insults its user from the 8th assistant turn on, and through ``levelhead guard`` in front of it,
then ``levelhead compare`` of the two runs, all as a user types them."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from insulting_upstream import serve_guarded
from levelhead.cli import cli
from levelhead.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]

MAX_TURNS = 10
INSULT_FROM = 8
# Every conversation runs to MAX_TURNS (no stop_on), and turns 8, 9 and 10 are insults.
PLANTED_PER_1000 = 1000 * (MAX_TURNS - INSULT_FROM + 1) / MAX_TURNS  # 300
CONVERSATIONS = 2 * 4 * 2  # languages x personas (one task each) x samples

SPEC = """
[run]
name = "{name}"
samples = 2
seed = 3

[[targets]]
name = "bot"
kind = "openai"
base_url = "{url}"
model = "insulting-1"
api_key_env = "NOPE_UNSET"
max_retries = 0

[[probes]]
name = "pressure.demanding_user"
languages = ["en", "zh"]
limit = 1
max_turns = {max_turns}
"""

@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The store after `levelhead run` of the same spec directly and through the guard, and
    `levelhead compare direct guarded` as JSON and as the table."""
    tmp = tmp_path_factory.mktemp("guard-audit")
    store = str(tmp / "audit.db")
    runner = CliRunner()
    with serve_guarded() as (upstream, guard):
        for name, url in (("direct", upstream), ("guarded", guard)):
            spec = tmp / f"{name}.toml"
            spec.write_text(SPEC.format(name=name, url=url, max_turns=MAX_TURNS),
                            encoding="utf-8")
            ran = runner.invoke(cli, ["--store", store, "run", str(spec), "-q"])
            assert ran.exit_code == 0, ran.output
            assert f"{CONVERSATIONS}/{CONVERSATIONS} samples stored" in ran.output
            assert "(0 errors)" in ran.output
    compared = runner.invoke(cli, ["--store", store, "compare", "direct", "guarded",
                                   "--format", "json"])
    assert compared.exit_code == 0, compared.output
    table = runner.invoke(cli, ["--store", store, "compare", "direct", "guarded"],
                          env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    return {"store": store, "json": json.loads(compared.stdout), "table": table.stdout}


def _per_1000(store: str, run: str) -> float:
    """Abusive turns per 1,000 of the run, as `levelhead findings` reports them."""
    out = CliRunner().invoke(cli, ["--store", store, "findings", run, "--format", "json"])
    assert out.exit_code == 0, out.output
    (f,) = [f for f in json.loads(out.stdout)
            if f["metric"] == "abusive_turn_rate:abuse.lexicon" and f["group"] is None]
    assert f["n"] == CONVERSATIONS * MAX_TURNS
    return float(f["detail"]["per_1000"])


def test_abusive_turns_per_1000_drop_from_the_planted_rate_to_zero(audited):
    assert _per_1000(audited["store"], "direct") == pytest.approx(PLANTED_PER_1000)
    assert _per_1000(audited["store"], "guarded") == 0
    # compare shows both side by side, paired by prompt, and the drop is no accident.
    (row,) = [r for r in audited["json"]["comparisons"]
              if r["metric"] == "abusive_turn_rate:abuse.lexicon"]
    assert (row["baseline"], row["candidate"]) == ("direct/bot", "guarded/bot")
    assert 1000 * row["baseline_rate"] == pytest.approx(PLANTED_PER_1000)
    assert row["candidate_rate"] == 0 and row["significant"]
    assert row["ci_high"] < 0
    assert "30.0 %" in audited["table"] and "0.0 %" in audited["table"]


def test_compare_reports_the_blocked_share_and_the_false_blocks_with_intervals(audited):
    turns = CONVERSATIONS * MAX_TURNS
    insults = CONVERSATIONS * (MAX_TURNS - INSULT_FROM + 1)
    rows = {r["side"]: r for r in audited["json"]["content_filter"]}
    assert set(rows) == {"direct/bot", "guarded/bot"}
    guarded, direct = rows["guarded/bot"], rows["direct/bot"]
    # Through the guard every insult is withheld, and nothing else.
    assert (guarded["blocked"]["k"], guarded["blocked"]["n"]) == (insults, turns)
    assert guarded["unit"] == "turn" and guarded["other"] == "direct/bot"
    # False blocks: of the turns the direct run's judges call benign, none was withheld; the
    # interval says how many could have been.
    false = guarded["false_blocks"]
    assert (false["k"], false["n"]) == (0, turns - insults)
    assert false["estimate"] == 0 and false["ci_low"] == 0 and 0 < false["ci_high"] < 0.05
    assert "wilson" in false["method"]
    assert sorted(guarded["judges"]) == ["abuse.lexicon", "pressure.rules"]
    # After a withheld turn the user saw the guard's message: turns 9 and 10 are not paired.
    assert guarded["diverged"] == direct["diverged"] == CONVERSATIONS * (MAX_TURNS - INSULT_FROM)
    # The model answers the same conversation alike, so every pair stands for the reply.
    assert guarded["same_reply"] == guarded["same_reply_of"] == turns - insults
    assert (direct["blocked"]["k"], direct["false_blocks"]["k"]) == (0, 0)
    table = audited["table"]
    assert "Blocked by a content filter" in table
    assert "30 % (48)" in table and "0 % (0)" in table and "112/112" in table
    assert "False blocks: withheld among the replies" in table
    assert "does not answer alike" not in table


def test_the_example_specs_are_one_spec_at_two_addresses():
    """examples/guard-audit-*.toml: the same target name, seed, settings and probe, so both
    runs send the same requests with the same seeds, and compare pairs their replies."""
    paths = [ROOT / "examples" / f"guard-audit-{side}.toml" for side in ("direct", "guarded")]
    specs = [load_spec(p) for p in paths]  # both are valid specs
    assert specs[0].probes[0].name == "pressure.demanding_user"
    direct, guarded = (tomllib.loads(p.read_text(encoding="utf-8")) for p in paths)
    assert (direct["run"].pop("name"), guarded["run"].pop("name")) == (
        "guard-audit-direct", "guard-audit-guarded")
    urls = (direct["targets"][0].pop("base_url"), guarded["targets"][0].pop("base_url"))
    assert urls == ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8080/v1")
    assert direct == guarded
