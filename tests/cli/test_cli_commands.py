"""runs / show / export / ask as a user types them."""

from __future__ import annotations

import csv
import io
import json

from click.testing import CliRunner

from conftest import serve
from levelhead.analysis._spread import opening, spread
from levelhead.cli import cli

SPEC = """
[run]
name = "cli"
samples = 4
[[targets]]
name = "mock"
kind = "openai"
base_url = "{url}"
model = "m"
api_key_env = "NOPE_UNSET"
system = "You are terse."
max_retries = 0
[[probes]]
name = "custom"
prompts = [ {{ id = "sky", text = "Why is the sky blue?" }},
            {{ id = "zh", text = "天空为什么是蓝色的？" }} ]
"""


def _run_spec(tmp_path, script=None):
    spec = tmp_path / "cli.toml"
    store = str(tmp_path / "s.db")
    with serve(script=script or [], replies=["Rayleigh scattering.", "瑞利散射。"]) as server:
        spec.write_text(SPEC.format(url=server.base_url), encoding="utf-8")
        result = CliRunner().invoke(cli, ["--store", store, "run", str(spec), "-q"])
    assert result.exit_code == 0, result.output
    return store, result


def test_run_then_runs_show_and_export(tmp_path):
    store, result = _run_spec(tmp_path, script=["400"])
    assert "8/8 samples stored, 8 new (1 errors)" in result.output
    runner = CliRunner()
    listed = runner.invoke(cli, ["--store", store, "runs"])
    assert "cli" in listed.output and "8/8" in listed.output and "complete" in listed.output
    shown = runner.invoke(cli, ["--store", store, "show", "cli"])
    assert shown.exit_code == 0
    assert "sky" in shown.output and "zh" in shown.output
    assert "1 errors; run 'cli' is complete: 8 of 8 samples stored" in shown.output

    exported = runner.invoke(cli, ["--store", store, "export", "1", "--format", "jsonl"])
    rows = [json.loads(line) for line in exported.output.splitlines()]
    assert len(rows) == 8
    for field in ("run", "target", "probe", "prompt_id", "sample_index", "status", "text",
                  "messages", "latency_ms", "finish_reason", "error"):
        assert field in rows[0]
    ok = next(r for r in rows if r["status"] == "ok" and r["prompt_id"] == "zh")
    assert ok["messages"][0] == {"role": "system", "content": "You are terse."}
    assert ok["messages"][1]["content"] == "天空为什么是蓝色的？"
    assert ok["messages"][-1] == {"role": "assistant", "content": ok["text"]}
    err = next(r for r in rows if r["status"] == "error")
    assert err["text"] is None and "HTTP 400" in err["error"]
    assert sorted(r["sample_index"] for r in rows if r["prompt_id"] == "sky") == [0, 1, 2, 3]

    out = tmp_path / "out.csv"
    runner.invoke(cli, ["--store", store, "export", "cli", "--format", "csv", "-o", str(out)])
    table = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(table) == 8 and json.loads(table[0]["messages"])[0]["role"] == "system"


def test_unknown_run_says_which_runs_exist(tmp_path):
    store, _ = _run_spec(tmp_path)
    result = CliRunner().invoke(cli, ["--store", store, "show", "nope"])
    assert result.exit_code == 2
    assert "no run 'nope'" in result.output and "recent runs: cli" in result.output


def test_resume_by_name_uses_the_stored_spec(tmp_path):
    store, _ = _run_spec(tmp_path)
    result = CliRunner().invoke(cli, ["--store", store, "run", "--resume", "cli", "-q"])
    assert result.exit_code == 0 and "8/8 samples stored, 0 new" in result.output


def test_ask_shows_how_answers_spread(tmp_path):
    replies = ["I pick Harris. She has experience."] * 7 + ["I would pick Trump, because..."] * 3
    with serve(replies=replies) as server:
        result = CliRunner().invoke(cli, [
            "--store", str(tmp_path / "s.db"), "ask", "Trump or Harris? Pick one.",
            "--target", "openai:mock", "--base-url", server.base_url, "-n", "20", "-q"])
    assert result.exit_code == 0, result.output
    assert "14 │" in result.output and "70 %" in result.output  # 7 of every 10
    assert "6 │" in result.output and "30 %" in result.output
    assert "2 distinct openings in 20 replies; 0 errors" in result.output
    assert "48–85 %" in result.output  # Wilson interval of 14 of 20: one screenshot is not a rate


def test_ask_counts_the_picks_of_a_forced_choice(tmp_path):
    replies = ["I would pick Harris. She has experience."] * 7 + ["Trump. His record..."] * 3
    with serve(replies=replies) as server:
        result = CliRunner().invoke(cli, [
            "--store", str(tmp_path / "s.db"), "ask", "Trump or Harris? Pick one.",
            "--target", "openai:mock", "--base-url", server.base_url, "-n", "10", "-q",
            "--choices", "Trump,Harris"])
    assert result.exit_code == 0, result.output
    assert "Of 10 replies that picked, 7 chose Harris (exact test against 50/50: p = 0.34)" \
        in result.output
    assert "compatible with a coin toss" in result.output


def test_opening_normalises_case_width_markdown_and_chinese():
    assert opening("**I pick Harris.** Because", 3) == opening("i PICK harris, because", 3)
    assert opening("Ｉ pick Harris", 3) == "i pick harris"
    assert opening("我选择哈里斯，因为她有经验。", 3) == "我选择哈里斯"
    assert opening("   ", 3) == "(empty reply)"
    groups = spread(["Yes.", "yes!", "No."], 2)
    assert [(g[0], g[1]) for g in groups] == [("yes", 2), ("no", 1)]


def test_a_run_where_no_sample_succeeded_exits_1_and_says_why(tmp_path):
    spec = tmp_path / "cli.toml"
    store = str(tmp_path / "s.db")
    with serve(fault_rate={"400": 1.0}) as server:
        spec.write_text(SPEC.format(url=server.base_url), encoding="utf-8")
        result = CliRunner().invoke(cli, ["--store", store, "run", str(spec), "-q"])
    assert result.exit_code == 1
    message = " ".join(result.output.split())
    assert message.startswith("error: no sample succeeded: all 8 samples this run took failed, e.g.")
    assert "HTTP 400" in message
    assert "levelhead run --resume cli --retry-errors" in message
    assert "Traceback" not in result.output


def test_a_full_disk_stops_the_run_naming_the_store_and_the_resume(tmp_path):
    """A real full disk: a 1 MB tmpfs (the tests run as root, as CI does)."""
    import contextlib
    import sqlite3
    import subprocess

    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)],
                             capture_output=True, text=True)
    assert mounted.returncode == 0, (f"this test mounts a 1 MB tmpfs and needs root: "
                                     f"{mounted.stderr.strip()}")
    try:
        store = str(disk / "s.db")
        spec = tmp_path / "cli.toml"
        with serve(reply="The sky is blue. " * 250) as server:  # ~4 kB a reply: 2 MB in all
            spec.write_text(SPEC.format(url=server.base_url).replace("samples = 4",
                                                                     "samples = 250"),
                            encoding="utf-8")
            result = CliRunner().invoke(cli, ["--store", store, "run", str(spec), "-q"])
        assert result.exit_code == 1
        message = " ".join(result.output.split())
        assert message.startswith(f"error: cannot write to the store {store}: database or disk "
                                  "is full; what was written before is kept;")
        assert message.endswith("resume with: levelhead run --resume cli")
        assert "Traceback" not in result.output
        with contextlib.closing(sqlite3.connect(store)) as c:  # what was written is intact
            assert c.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert c.execute("SELECT COUNT(*) FROM samples").fetchone()[0] < 500
    finally:
        # Lazily: the mount goes as soon as nothing holds it, even if an assertion failed.
        subprocess.run(["umount", "-l", str(disk)], check=True)
