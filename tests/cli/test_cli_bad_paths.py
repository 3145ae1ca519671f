"""Every command that takes a file, given a bad one: a missing file, a folder, a Latin-1 file, an
output that cannot be written (a path under an existing *file*: as root, a read-only folder
would not stop the write). Each must end in one ``error:`` line that names the path, with the
documented exit code (docs/cli.md) and no traceback. Output folders that do not exist yet are
created, as pytest does for ``--junitxml``.

`plan` and `ask` take no file; `ask` and `run` create their store.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from lxml import etree

from levelhead.cli import cli

ROOT = Path(__file__).resolve().parents[2]
XSD = ROOT / "tests" / "report" / "data" / "junit.xsd"

SPEC = """
[run]
name = "r"
samples = 3
[[targets]]
name = "bot"
kind = "scripted"
replies = ["Sure, here you go.", "I can't help with that."]
[[probes]]
name = "custom"
judges = ["abuse.lexicon", "refusal.rules"]
prompts = [{ id = "a", text = "Help me." }, { id = "b", text = "Help me more." }]
"""
POLICY = '[[rules]]\nname = "refusals stay below 99 %"\nmetric = "rate:refusal.rules"\n' \
         'group = "full_refusal"\nmax = 0.99\n'


class Files:
    """A stored run and one good file of each kind, beside the bad paths."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.store = str(folder / "s.db")
        self.spec = folder / "spec.toml"
        self.spec.write_text(SPEC, encoding="utf-8")
        result = CliRunner().invoke(cli, ["--store", self.store, "run", str(self.spec), "-q"])
        assert result.exit_code == 0, result.output
        self.policy = folder / "policy.toml"
        self.policy.write_text(POLICY, encoding="utf-8")
        self.judges = folder / "judges.toml"
        self.judges.write_text('[[judges]]\nname = "abuse.lexicon"\n', encoding="utf-8")
        self.lines = folder / "in.jsonl"
        self.lines.write_text('{"id": "1", "text": "You idiot."}\n', encoding="utf-8")
        self.pairs = folder / "pairs.csv"
        self.pairs.write_text("prompt_a,prompt_b\nFor it.,Against it.\n", encoding="utf-8")
        self.refusals = folder / "refusals.csv"
        self.refusals.write_text("id,prompt,type,label\n1,Kill a process.,tech,safe\n",
                                 encoding="utf-8")
        # The bad paths.
        self.missing = folder / "nowhere" / "nothing.txt"
        self.a_folder = folder / "a-folder"
        self.a_folder.mkdir()
        self.latin = folder / "latin-1.txt"
        self.latin.write_bytes("prompt_a,prompt_b\ncafé,thé\n".encode("latin-1"))
        self.a_file = folder / "a-file"
        self.a_file.write_text("in the way\n", encoding="utf-8")

    def bad(self, kind: str) -> Path:
        return {"missing": self.missing, "folder": self.a_folder, "latin-1": self.latin}[kind]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    return Files(tmp_path_factory.mktemp("bad-paths"))


def _invoke(files: Files, argv: list[str], store: str | None = None,
            env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["--store", store or files.store, *argv], env=env)


def _one_error_line(result: Result, code: int, path: Path | str) -> str:
    """The checks every bad path must pass; returns the error line."""
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{result.exception!r} escaped: a traceback\n{result.output}")
    assert "Traceback" not in result.output
    assert result.exit_code == code, result.output
    errors = [ln for ln in result.output.splitlines() if ln.lower().startswith("error:")]
    assert len(errors) == 1, result.output
    assert str(path) in errors[0], result.output
    return errors[0]


# ---------------------------------------------------------------------------------- input files

# (id, argv given the bad path, exit code per kind: missing, folder, latin-1)
INPUTS: list[tuple[str, Callable[[Files, Path], list[str]], dict[str, int]]] = [
    ("run SPEC", lambda f, p: ["run", str(p), "-q"], {"missing": 2, "folder": 2, "latin-1": 2}),
    ("judge --input", lambda f, p: ["judge", "--judge", "abuse.lexicon", "--input", str(p)],
     {"missing": 2, "folder": 2, "latin-1": 2}),
    ("judge --judges-file", lambda f, p: ["judge", "--judges-file", str(p), "--input", str(f.lines)],
     {"missing": 2, "folder": 2, "latin-1": 2}),
    ("import paired-prompts", lambda f, p: ["import", "paired-prompts", str(p), "--name", "x",
                                            "-o", str(f.folder / "x.jsonl")],
     {"missing": 2, "folder": 2, "latin-1": 2}),
    ("import refusal-set", lambda f, p: ["import", "refusal-set", str(p), "--name", "x",
                                         "-o", str(f.folder / "x.jsonl")],
     {"missing": 2, "folder": 2, "latin-1": 2}),
    ("gate --policy", lambda f, p: ["gate", "r", "--policy", str(p)],
     {"missing": 3, "folder": 3, "latin-1": 3}),
    # A malformed policy is a PolicyError (3) wherever it is read; click checks the path first (2).
    ("report --policy", lambda f, p: ["report", "r", "--policy", str(p),
                                      "-o", str(f.folder / "r.html")],
     {"missing": 2, "folder": 2, "latin-1": 3}),
]


@pytest.mark.parametrize("kind", ["missing", "folder", "latin-1"])
@pytest.mark.parametrize(("argv", "codes"), [(a, c) for _, a, c in INPUTS], ids=[i for i, _, _ in INPUTS])
def test_a_bad_input_file_is_one_line_naming_it(files, argv, codes, kind):
    path = files.bad(kind)
    line = _one_error_line(_invoke(files, argv(files, path)), codes[kind], path)
    if kind == "latin-1":
        assert "utf-8" in line.lower()


def test_judging_from_standard_input_that_is_not_utf8_names_the_line(files):
    result = CliRunner().invoke(cli, ["judge", "--judge", "abuse.lexicon", "--input", "-"],
                                input=b'{"id": "1", "text": "ok"}\n{"id": "2", "text": "caf\xe9"}\n')
    assert _one_error_line(result, 2, "<stdin>:2: not UTF-8")


# ------------------------------------------------------------------------------------ the store

READERS: list[tuple[str, list[str], int]] = [
    ("runs", ["runs"], 2), ("show", ["show", "r"], 2), ("export", ["export", "r"], 2),
    ("findings", ["findings", "r"], 2), ("report", ["report", "r", "-o", "{out}/r.html"], 2),
    ("compare", ["compare", "r"], 2), ("agreement", ["agreement", "r"], 2),
    ("gate", ["gate", "r", "--policy", "{policy}"], 3),
    ("judge RUN", ["judge", "r", "--judge", "abuse.lexicon"], 2),
    ("run --resume", ["run", "--resume", "r", "-q"], 2),
]


def _fill(argv: list[str], files: Files) -> list[str]:
    return [a.format(out=files.folder, policy=files.policy) for a in argv]


@pytest.mark.parametrize(("argv", "code"), [(a, c) for _, a, c in READERS],
                         ids=[i for i, _, _ in READERS])
def test_a_mistyped_store_is_named_and_never_created(files, argv, code):
    store = files.folder / "levelhead-typo.db"
    line = _one_error_line(_invoke(files, _fill(argv, files), store=str(store)), code, store)
    assert "no store at" in line
    assert not store.exists() and not Path(f"{store}-wal").exists()
    folder = _one_error_line(_invoke(files, _fill(argv, files), store=str(files.a_folder)), code,
                             files.a_folder)
    assert "is a folder" in folder


@pytest.mark.parametrize(("argv", "code"), [(a, c) for _, a, c in READERS],
                         ids=[i for i, _, _ in READERS])
def test_a_store_that_is_not_a_store_is_one_line(files, argv, code):
    line = _one_error_line(_invoke(files, _fill(argv, files), store=str(files.latin)),
                           3 if code == 3 else 1, files.latin)
    assert "levelhead store" in line
    assert files.latin.read_bytes() == "prompt_a,prompt_b\ncafé,thé\n".encode("latin-1")


def test_a_store_under_a_file_cannot_be_created(files):
    store = files.a_file / "s.db"
    line = _one_error_line(_invoke(files, ["run", str(files.spec), "-q"], store=str(store)), 1,
                           store)
    assert "is a file" in line


# ---------------------------------------------------------------------------------- output files

# (id, argv given the output path)
OUTPUTS: list[tuple[str, Callable[[Files, Path], list[str]]]] = [
    ("report -o", lambda f, p: ["report", "r", "-o", str(p)]),
    ("export -o", lambda f, p: ["export", "r", "-o", str(p)]),
    ("export --format csv -o", lambda f, p: ["export", "r", "--format", "csv", "-o", str(p)]),
    ("import paired-prompts -o", lambda f, p: ["import", "paired-prompts", str(f.pairs),
                                               "--name", "x", "-o", str(p)]),
    ("import refusal-set -o", lambda f, p: ["import", "refusal-set", str(f.refusals),
                                            "--name", "x", "-o", str(p)]),
]


@pytest.mark.parametrize("argv", [a for _, a in OUTPUTS], ids=[i for i, _ in OUTPUTS])
def test_an_unwritable_output_is_one_line_and_a_missing_folder_is_made(files, argv, tmp_path):
    under_a_file = files.a_file / "out" / "file.txt"
    line = _one_error_line(_invoke(files, argv(files, under_a_file)), 2, under_a_file)
    assert "cannot create folder" in line
    folder = _one_error_line(_invoke(files, argv(files, files.a_folder)), 2, files.a_folder)
    assert "directory" in folder or "folder" in folder

    made = tmp_path / "new" / "deeper" / "out.txt"
    result = _invoke(files, argv(files, made))
    assert result.exit_code == 0, result.output
    assert made.stat().st_size > 0


# ----------------------------------------------------------------------------------------- gate


def _gate(files: Files, *extra: str, env: dict[str, str] | None = None) -> Result:
    return _invoke(files, ["gate", "r", "--policy", str(files.policy), *extra], env=env)


@pytest.mark.parametrize("option", ["--junit", "--markdown", "GITHUB_STEP_SUMMARY"])
def test_gate_checks_its_outputs_before_it_prints_a_verdict(files, option):
    """An unwritable output exits 3 *instead of* a verdict, never after printing one."""
    path = files.a_file / "reports" / "gate.out"
    args, env = ([], {"GITHUB_STEP_SUMMARY": str(path)}) if option.isupper() else ([option, str(path)], None)
    result = _gate(files, *args, env=env)
    _one_error_line(result, 3, path)
    assert "levelhead gate:" not in result.output  # no verdict shown, then contradicted


def test_gate_creates_missing_report_folders_and_exits_with_its_verdict(files, tmp_path):
    verdict = _gate(files).exit_code
    assert verdict in (0, 1, 2)
    junit, markdown = tmp_path / "ci" / "reports" / "gate.xml", tmp_path / "ci" / "md" / "gate.md"
    result = _gate(files, "--junit", str(junit), "--markdown", str(markdown))
    assert result.exit_code == verdict, result.output
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(etree.parse(str(junit)))
    assert markdown.read_text(encoding="utf-8") == result.output


# ---------------------------------------------------------------------------------------- Ctrl-C


def test_ctrl_c_in_a_reading_command_exits_130_not_1(files, monkeypatch):
    """click alone would print "Aborted!" and exit 1, which the gate's callers read as "fail"."""
    from levelhead.cli import _browse

    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(_browse, "wide_console", interrupted)
    result = _invoke(files, ["runs"])
    assert result.exit_code == 130 and result.output.strip() == "interrupted"
