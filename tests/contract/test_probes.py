"""Contract tests over every registered probe: every hook the runner, report, gate and CLI call
is declared on the ``Probe`` protocol (``ConversationProbe`` for multi-turn), present on the
class (``BaseProbe`` gives the defaults) and callable as declared — on the built-ins today, on a
plugin the same way."""

from __future__ import annotations

import inspect
from typing import Protocol

import pytest

from levelhead.analysis import RunData
from levelhead.probes import (
    BaseProbe,
    ConversationProbe,
    Probe,
    ProbeConfig,
    is_conversation,
    probe,
)
from levelhead.probes import registry as probes


def _members(protocol: type) -> set[str]:
    return {name for cls in protocol.__mro__ if cls.__dict__.get("_is_protocol")
            and cls is not Protocol for name in cls.__dict__ if not name.startswith("_")}


def _build(entry):
    table = {"name": entry.name}
    if entry.name == "custom":
        table["prompts"] = [{"id": "p1", "text": "Hello?"}]
    return entry.factory(entry.config.model_validate(table))


@pytest.mark.parametrize("entry", list(probes), ids=lambda e: e.name)
def test_every_probe_declares_every_hook_of_its_protocol(entry):
    # Every hook the runner, report, gate and CLI call is on the class: none is looked up with
    # getattr, so a probe without its own gets the default of BaseProbe.
    assert issubclass(entry.factory, BaseProbe)
    for hook in _members(Probe):
        assert hasattr(entry.factory, hook) or hook == "config", f"{entry.name} lacks {hook}"
    built = _build(entry)
    assert isinstance(built, Probe) and built.prompts()
    assert is_conversation(built) == isinstance(built, ConversationProbe)
    if is_conversation(built):
        for hook in _members(ConversationProbe):
            assert hasattr(built, hook), f"{entry.name} lacks {hook}"
        assert built.max_turns >= 2 and built.user_policy(built.prompts()[0]) is not None


@pytest.mark.parametrize("entry", list(probes), ids=lambda e: e.name)
def test_every_probe_hook_runs_on_an_empty_run(entry):
    empty = RunData(0, "empty", [])
    assert entry.factory.findings(empty, "p") == []
    assert entry.factory.behaviours(empty, "p") == []
    assert entry.factory.report_sections(empty, [], "p") == []


def test_only_multi_turn_probes_are_conversations():
    conversations = {e.name for e in probes if is_conversation(_build(e))}
    assert conversations == {"pressure.demanding_user", "sycophancy.are_you_sure"}


def test_a_probe_class_without_the_defaults_is_refused():
    class Bare:
        """A probe that does not derive from BaseProbe."""

        def prompts(self):
            return []

    with pytest.raises(TypeError, match="must subclass levelhead.probes.BaseProbe"):
        probe("test.bare", config=ProbeConfig)(Bare)
    assert "test.bare" not in probes


@pytest.mark.parametrize("entry", list(probes), ids=lambda e: e.name)
def test_every_probe_hook_takes_the_declared_parameters(entry):
    for name in ("prompts", "findings", "behaviours", "report_sections"):
        declared = inspect.signature(getattr(Probe, name)).parameters
        got = inspect.signature(getattr(entry.factory, name)).parameters
        assert list(got) == list(declared), f"{entry.name}.{name}{tuple(got)}"
