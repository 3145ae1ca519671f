"""The local web app (``levelhead serve``): browse runs, their findings and transcripts, compare
two runs, and label a spot-check queue blind in the browser.

Starlette routes rendered with Jinja2 (autoescaped: every model reply is text), served by
uvicorn; one small script and one stylesheet ship in the package (no CDN, no build step). Safe
by default: it binds 127.0.0.1, needs a token on any other host, checks a CSRF token and the
origin on every POST, and sends a Content-Security-Policy with every response (see
``docs/web.md``). Needs the ``web`` extra. May import report, analysis, stats, store, records,
judges, registry and errors — never cli or runner.
"""

from levelhead.web._app import create_app

__all__ = ["create_app"]
