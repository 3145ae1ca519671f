"""The curated public API is pinned: adding or removing a name is a deliberate change."""

import levelhead


def test_top_level_all_is_pinned():
    assert sorted(levelhead.__all__) == sorted([
        "AuditSpec", "Completion", "Finding", "LevelheadError", "Prompt", "RunReport", "Sample",
        "SpecError", "Turn", "__version__", "build_report", "load_spec", "open_store",
        "run_audit", "spec_from_dict",
    ])
    for name in levelhead.__all__:
        assert getattr(levelhead, name) is not None


def test_every_public_name_is_documented():
    for name in levelhead.__all__:
        obj = getattr(levelhead, name)
        if callable(obj):
            assert (obj.__doc__ or "").strip(), name


def test_import_levelhead_does_not_load_the_report_until_build_report_is_used():
    import subprocess
    import sys

    code = ("import sys, levelhead; print('levelhead.report' in sys.modules, 'numpy' in sys.modules);"
            " levelhead.build_report; print('levelhead.report' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "True"]


def test_build_report_is_what_the_report_command_writes(tmp_path):
    from click.testing import CliRunner

    from levelhead import build_report, open_store, run_audit, spec_from_dict
    from levelhead.cli import cli

    store_path = tmp_path / "s.db"
    spec = spec_from_dict({
        "run": {"name": "page", "samples": 3},
        "targets": [{"name": "bot", "kind": "scripted", "replies": ["Sure.", "No, idiot."]}],
        "probes": [{"name": "custom", "judges": ["abuse.lexicon"],
                    "prompts": [{"id": "a", "text": "Hi?"}, {"id": "b", "text": "Why?"}]}]})
    run_audit(spec, open_store(store_path))
    built = build_report(open_store(store_path, read_only=True), "page")
    page = tmp_path / "page.html"
    result = CliRunner().invoke(cli, ["--store", str(store_path), "report", "page", "-o", str(page)])
    assert result.exit_code == 0, result.output
    assert built.run_name == "page" and built.notes == ()

    def strip_volatile(html: str) -> str:  # the report's chart ids and times are per build
        import re

        return re.sub(r"(chart-\w+|\d{4}-\d\d-\d\dT[\d:.+]+)", "", html)

    assert strip_volatile(page.read_text(encoding="utf-8")) == strip_volatile(built.html)
