"""Contract tests over every registered target kind and probe: documented, strict configs, and
every target kind an implementation of the ``Target`` protocol."""

from __future__ import annotations

import pytest
from protocol_hooks import assert_implements, declared_properties
from pydantic import ValidationError

from levelhead.probes import registry as probes
from levelhead.targets import BaseTarget, Target, TargetConfig, build_target
from levelhead.targets import registry as targets

MINIMAL = {"openai": {"model": "m", "base_url": "http://127.0.0.1:9/v1"},
           "anthropic": {"model": "m"}, "local": {}, "scripted": {}, "vllm": {"model": "m"}}


@pytest.mark.parametrize("entry", list(targets), ids=lambda e: e.name)
def test_every_target_kind_is_documented_strict_and_buildable(entry):
    assert entry.summary and entry.config is not None and entry.config.__doc__
    table = {"name": "t", "kind": entry.name, **MINIMAL.get(entry.name, {})}
    config = entry.config.model_validate(table)
    with pytest.raises(ValidationError):
        entry.config.model_validate({**table, "no_such_setting": 1})
    target = build_target(config)
    assert isinstance(target, Target)
    assert target.max_n >= 1 and isinstance(target.describe(), str)
    assert "key" not in " ".join(config.settings()).replace("api_key_env", "")


@pytest.mark.parametrize("entry", list(targets), ids=lambda e: e.name)
async def test_every_target_kind_implements_the_target_protocol(entry):
    cls = entry.factory
    assert isinstance(cls, type) and issubclass(cls, BaseTarget), (
        f"{entry.name} must subclass BaseTarget")
    assert_implements(cls, Target)
    table = {"name": "t", "kind": entry.name, **MINIMAL.get(entry.name, {})}
    target = build_target(entry.config.model_validate(table))
    for name in declared_properties(Target):
        assert hasattr(target, name), f"{entry.name} has no {name}"
    assert isinstance(target.config, TargetConfig) and target.config.kind == entry.name
    assert isinstance(target.max_n, int) and 1 <= target.max_n <= target.config.n_per_request
    # The runner closes every target in `finally`, also one whose start failed or never ran.
    await target.close()
    await target.close()


def test_a_target_without_the_base_class_is_refused_at_registration():
    from levelhead.targets import target

    with pytest.raises(TypeError, match="must subclass levelhead.targets.BaseTarget"):
        @target("contract-bare", config=TargetConfig)
        class Bare:
            """A target that declares none of the optional hooks."""

            async def complete(self, messages, *, n=1, seed=None, options=None):
                return []
    assert "contract-bare" not in targets


@pytest.mark.parametrize("entry", list(probes), ids=lambda e: e.name)
def test_every_probe_is_documented_and_strict(entry):
    assert entry.summary and entry.config is not None
    with pytest.raises(ValidationError):
        entry.config.model_validate({"name": entry.name, "no_such_setting": 1})


def test_builtins_are_registered():
    assert {"openai", "anthropic", "local", "scripted"} <= set(targets.names())
    assert "custom" in probes.names()


def test_every_target_setting_is_documented():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "targets.md").read_text()
    for entry in targets:
        assert f"## `{entry.name}`" in doc, entry.name
        for field in entry.config.model_fields:
            assert f"`{field}`" in doc, f"{entry.name}.{field} is not in docs/targets.md"
