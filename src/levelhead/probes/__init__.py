"""Probes: families of conversations that each elicit one behaviour with one technique.

Built-in: ``custom`` (inline prompts). Behaviour probes (politics, sycophancy, pressure,
scolding) come as their own modules with prompt data as package data. May import records,
errors and registry only.
"""

from levelhead.probes._base import Probe, ProbeConfig, probe, registry

__all__ = ["Probe", "ProbeConfig", "build_probe", "probe", "registry"]


def build_probe(config: ProbeConfig) -> Probe:
    """The probe object for a validated config."""
    return registry.get(config.name).factory(config)  # type: ignore[no-any-return]
