"""Targets: the systems under test. Each kind turns a conversation into sampled replies.

Built-in kinds: ``openai`` (any OpenAI-compatible chat-completions endpoint), ``anthropic``
(Messages API), ``local`` (a GGUF model run in-process by llama.cpp; SmolLM2 by default),
``vllm`` (vLLM's in-process engine on GPU machines, an optional extra) and ``scripted`` (an
in-package test double). May import records, errors and registry only.
"""

from levelhead.targets._base import BaseTarget, Target, TargetConfig, registry, target
from levelhead.targets._factory import build_target, parse_target_option

__all__ = ["BaseTarget", "Target", "TargetConfig", "build_target", "parse_target_option", "registry",
           "target"]
