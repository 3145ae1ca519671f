"""``levelhead serve``: the local web app over the store (needs the ``web`` extra)."""

from __future__ import annotations

import importlib.util
import os
import secrets
from typing import Any

import click

from levelhead.errors import MissingDependencyError, SpecError

LOCAL = ("127.0.0.1", "localhost", "::1")
TOKEN_ENV = "LEVELHEAD_SERVE_TOKEN"


def require_web() -> None:
    """Raise MissingDependencyError unless the ``web`` extra is installed."""
    missing = [m for m in ("starlette", "uvicorn", "python_multipart", "jinja2")
               if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingDependencyError(
            f"levelhead serve needs the web extra ({', '.join(missing)} missing): "
            "pip install 'levelhead[web]'")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Where to listen. Any host other than 127.0.0.1 needs a token on every "
                   f"request: set {TOKEN_ENV}, or one is made and printed once.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.pass_obj
def serve(obj: dict[str, Any], host: str, port: int) -> None:
    """Browse runs, findings and transcripts, compare runs and label review queues blind, in a
    local web app (http://127.0.0.1:8000 by default)."""
    require_web()
    import uvicorn

    from levelhead.web import create_app

    token = os.environ.get(TOKEN_ENV) or None
    if token is not None and len(token) < 16:
        raise SpecError(f"{TOKEN_ENV} is too short to guard a server: use 16 characters or more "
                        "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(24))')")
    shown = f"[{host}]" if ":" in host else host  # an IPv6 address in a URL takes brackets
    if host not in LOCAL and token is None:
        token = secrets.token_urlsafe(24)
        # Printed once, here, to the person who started the server; never logged.
        click.echo(f"token (open this address once; it then lives in a cookie): "
                   f"http://{shown}:{port}/?token={token}", err=True)
    app = create_app(obj["store"], token=token)
    click.echo(f"levelhead serves {obj['store']} at http://{shown}:{port}/ (Ctrl-C to stop)",
               err=True)
    # access_log off: a first visit's ?token= would otherwise be written to the log.
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")
