"""What a judge declares about its labels, read from its registered class: every label it can
give, and the labels that mark the failure it detects (``bad_labels``). A judge identity
(``llm.rubric#2``) is looked up by its name."""

from __future__ import annotations

__all__ = ["judge_bad_labels", "judge_labels"]


def _declared(identity: str, hook: str) -> object:
    from levelhead.judges import registry as judge_registry

    name = identity.split("#", 1)[0]
    if name not in judge_registry:
        return None
    factory = judge_registry.get(name).factory
    # Set per instance by a judge whose labels come from its settings (``llm.rubric``): on the
    # class it is then empty, or not a tuple.
    return factory.bad_labels if hook == "bad_labels" else factory.labels


def judge_bad_labels(identity: str) -> tuple[str, ...] | None:
    """The labels a judge declares as failures (``bad_labels`` on its class), or None."""
    bad = _declared(identity, "bad_labels")
    return tuple(bad) if isinstance(bad, tuple) else None


def judge_labels(identity: str) -> tuple[str, ...]:
    """Every label a judge declares on its class (empty when its labels come from settings)."""
    labels = _declared(identity, "labels")
    return tuple(labels) if isinstance(labels, tuple) else ()
