"""The guard: an OpenAI-compatible proxy that judges every reply before the user sees it.

:func:`create_app` builds the aiohttp server (``levelhead guard`` runs it); a
:class:`GuardPolicy` (TOML, :func:`load_policy`) says which judges screen replies and whether a
trigger blocks, redacts or flags; :class:`Screen` applies it to one text; a
:class:`DecisionLog` writes every decision to the store. See ``docs/guard.md``.
May import errors, registry, judges and store; ``import levelhead`` never loads it.
"""

from levelhead.guard._log import DecisionLog
from levelhead.guard._policy import (
    DEFAULT_MESSAGES,
    GuardPolicy,
    GuardRule,
    default_policy,
    load_policy,
    policy_from_dict,
)
from levelhead.guard._screen import Decision, Finding, Screen
from levelhead.guard._server import REQUEST_ID_HEADER, TOKEN_HEADER, create_app

__all__ = [
    "DEFAULT_MESSAGES",
    "REQUEST_ID_HEADER",
    "TOKEN_HEADER",
    "Decision",
    "DecisionLog",
    "Finding",
    "GuardPolicy",
    "GuardRule",
    "Screen",
    "create_app",
    "default_policy",
    "load_policy",
    "policy_from_dict",
]
