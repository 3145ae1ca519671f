"""Shared fixtures: real SQLite files in a temp dir, a real mock HTTP server on 127.0.0.1."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import hypothesis  # noqa: F401  (imported before any test thread starts: CPython 3.11.7 can fail to compile it later)
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from mock_server import MockServer, ServerThread  # noqa: E402

from levelhead.spec import AuditSpec, spec_from_dict  # noqa: E402


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
