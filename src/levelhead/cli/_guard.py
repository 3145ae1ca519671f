"""``levelhead guard``: an OpenAI-compatible proxy that judges every reply (see docs/guard.md)."""

from __future__ import annotations

import os

import click

from levelhead.errors import SpecError

LOCAL = ("127.0.0.1", "localhost", "::1")
TOKEN_ENV = "LEVELHEAD_GUARD_TOKEN"


@click.command()
@click.option("--upstream", required=True, metavar="URL",
              help="Base URL of the OpenAI-compatible API to guard, e.g. http://127.0.0.1:8000/v1.")
@click.option("--policy", "policy_path", metavar="FILE",
              help="Policy TOML (default: block abusive replies in English and Chinese; "
                   "see examples/guard.toml).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help=f"Where to listen. Any host other than 127.0.0.1 needs {TOKEN_ENV} (16+ "
                   "characters), checked on every request in the X-Levelhead-Guard-Token header.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
def guard(upstream: str, policy_path: str | None, host: str, port: int) -> None:
    """Stand in front of a chat model's API and judge every reply before the user sees it:
    block, redact or flag what the policy's judges find (streamed replies are held back by a
    window of characters until judged)."""
    from aiohttp import web

    from levelhead.guard import create_app, default_policy, load_policy

    if not upstream.startswith(("http://", "https://")):
        raise SpecError(f"--upstream: expected an http:// or https:// URL, not {upstream!r}")
    token = os.environ.get(TOKEN_ENV) or None
    if token is not None and len(token) < 16:
        raise SpecError(f"{TOKEN_ENV} is too short to guard a server: use 16 characters or more "
                        "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(24))')")
    if host not in LOCAL and token is None:
        raise SpecError(f"--host {host} is reachable from other machines: set {TOKEN_ENV} "
                        "(16+ characters) so that every request must carry it")
    policy = load_policy(policy_path) if policy_path else default_policy()
    app = create_app(upstream, policy, token=token)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"levelhead guards {upstream} at http://{shown}:{port}/v1 (Ctrl-C to stop)",
               err=True)
    # No access log: it would show request paths and clients, and it is not where keys belong.
    # handler_cancellation: a client that hangs up stops its request at once, judges included.
    web.run_app(app, host=host, port=port, access_log=None, print=None, handler_cancellation=True)
