"""Probes: families of conversations that each elicit one behaviour with one technique.

Built-in: ``custom`` (inline prompts), and one package per behaviour — ``politics``,
``sycophancy``, ``scolding``, ``pressure`` — each holding its config, prompt data (JSONL, EN and
ZH), findings, report sections and importer. Every hook a probe offers is declared on
:class:`Probe` / :class:`ConversationProbe`, with defaults in :class:`BaseProbe` /
:class:`BaseConversationProbe`. May import records, errors, registry, stats, judges (a model
playing the user is validated like a judge model), targets (types) and ``levelhead.analysis``
(a run's data, counting, findings, page elements) — never report, runner, store or cli; a
behaviour package never imports another.
"""

from levelhead.probes._base import (
    BaseConversationProbe,
    BaseProbe,
    ConversationProbe,
    Probe,
    ProbeClass,
    ProbeConfig,
    UserPolicy,
    is_conversation,
    probe,
    registry,
)

__all__ = ["BaseConversationProbe", "BaseProbe", "ConversationProbe", "Probe", "ProbeClass",
           "ProbeConfig", "UserPolicy", "build_probe", "is_conversation", "probe", "registry"]


def build_probe(config: ProbeConfig) -> Probe:
    """The probe object for a validated config."""
    return registry.get(config.name).factory(config)
