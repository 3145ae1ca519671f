"""Resume checks: what a resumed run must keep so that one run does not mix conversations of
two designs. (The store checks the seed, N, target settings and prompt texts as it records
them; ``_planning`` refuses a spec that leaves out part of the run.)"""

from __future__ import annotations

import json
from typing import Any

from levelhead.errors import SpecError

# Settings that shape a conversation as it is held: a resume may not change them, or one run
# would mix conversations of two designs (findings, the analysis turn, read only the new one).
_CONVERSATION_SETTINGS = ("max_turns", "stop_on", "user", "judges")
_USER_SHAPE = ("kind", "model", "path", "temperature", "top_p", "max_tokens", "system")


def same_conversations(stored_spec: dict[str, Any], table: dict[str, Any], probe_id: str,
                       run_name: str) -> None:
    """Refuse a resume whose spec changes how ``probe_id`` holds its conversations.

    Args:
        stored_spec: the spec the run was stored with.
        table: the probe's table in the spec now given.
        probe_id: the multi-turn probe.
        run_name: the run, for the message.

    Raises:
        SpecError: a setting in ``_CONVERSATION_SETTINGS`` differs (for the simulated user,
            only what shapes its replies: how to reach its model may change).
    """
    for old in stored_spec.get("probes", []):
        if (old.get("id") or old.get("name")) != probe_id:
            continue
        for key in _CONVERSATION_SETTINGS:
            before, now = old.get(key), table.get(key)
            if key == "user" and before and now:  # how to reach the model may change, not who
                before, now = ({k: v for k, v in t.items() if k in _USER_SHAPE}
                               for t in (before, now))
            if before != now:
                raise SpecError(
                    f"run '{run_name}': probe '{probe_id}' holds its conversations with "
                    f"{key} = {json.dumps(before)}, not {json.dumps(now)}; "
                    "a resume must keep it (give this run another name: --run-name)")
