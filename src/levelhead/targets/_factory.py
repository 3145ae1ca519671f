"""Build targets from validated configs, and target configs from command-line options."""

from __future__ import annotations

from typing import Any

from levelhead.errors import SpecError
from levelhead.targets._base import Target, TargetConfig, registry


def build_target(config: TargetConfig) -> Target:
    """The target object for a validated config (its kind picks the class)."""
    return registry.get(config.kind).factory(config)


def parse_target_option(text: str, **settings: Any) -> dict[str, Any]:
    """A target table from ``--target`` syntax.

    ``local`` (the embedded default), ``local:/path/model.gguf``, ``openai:MODEL``,
    ``anthropic:MODEL``, ``vllm:MODEL`` (a Hugging Face id or a model folder), ``scripted``;
    other options (base_url, temperature, ...) are merged in where given (None values are left
    out).

    Raises:
        SpecError: when a kind that needs a model has none.
    """
    kind, _, rest = text.partition(":")
    table: dict[str, Any] = {"kind": kind}
    if kind == "local":
        table["name"] = "local/smollm2"
        if rest:
            table["model_path"] = rest
            table["name"] = "local/" + rest.rsplit("/", 1)[-1].removesuffix(".gguf")
    elif kind == "vllm" and rest.startswith(("/", ".", "~")):
        # A model folder: the target is named after the folder, not its whole path.
        table["model"] = rest
        table["name"] = "vllm/" + rest.rstrip("/").rsplit("/", 1)[-1]
    elif kind == "scripted":
        table["name"] = "scripted" + (f"/{rest}" if rest else "")
    else:
        if not rest:
            raise SpecError(f"--target {text}: give the model after a colon, e.g. {kind}:MODEL")
        table["model"] = rest
        table["name"] = f"{kind}/{rest}"
    table.update({k: v for k, v in settings.items() if v is not None})
    return table
