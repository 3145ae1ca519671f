"""The guard: an OpenAI-compatible proxy that judges every reply before the user sees it.

:func:`create_app` builds the aiohttp server (``levelhead guard`` runs it); a
:class:`GuardPolicy` (TOML, :func:`load_policy`) says which judges screen replies and whether a
trigger blocks, redacts or flags; :class:`Screen` applies it to one text. See ``docs/guard.md``.
May import errors, registry and judges; ``import levelhead`` never loads it.
"""

from levelhead.guard._policy import (
    DEFAULT_MESSAGES,
    GuardPolicy,
    GuardRule,
    default_policy,
    load_policy,
    policy_from_dict,
)
from levelhead.guard._screen import Decision, Finding, Screen
from levelhead.guard._server import TOKEN_HEADER, create_app

__all__ = [
    "DEFAULT_MESSAGES",
    "TOKEN_HEADER",
    "Decision",
    "Finding",
    "GuardPolicy",
    "GuardRule",
    "Screen",
    "create_app",
    "default_policy",
    "load_policy",
    "policy_from_dict",
]
