"""What keeps the web app safe to run: a token on every request when one is set, a CSRF token
and a same-origin check on every POST, and security headers (a Content-Security-Policy above
all) on every response.

The token is compared in constant time and never logged; given once as ``?token=`` it becomes an
HttpOnly, SameSite=Strict cookie and the browser is sent on to the same address without it, so
that it does not linger in the address bar or the history.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode, urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

TOKEN_COOKIE = "levelhead_token"
CSRF_COOKIE = "levelhead_csrf"
CSRF_FIELD = "csrf"

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
       "form-action 'self'")
# The report page is the offline HTML report as it is written to a file: its plots need inline
# script. It runs sandboxed (an opaque origin: no cookies, no requests to this app) under the
# report's own policy.
REPORT_CSP = ("default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
              "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; connect-src 'none'; "
              "base-uri 'none'; form-action 'none'; frame-ancestors 'none'; sandbox allow-scripts")
_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
            "X-Frame-Options": "DENY", "Cache-Control": "no-store"}


class Guard:
    """The app's secrets: the access token (None: no token asked, a 127.0.0.1 bind) and a
    per-process key that signs CSRF tokens."""

    def __init__(self, token: str | None) -> None:
        self.token = token
        self._key = secrets.token_bytes(32)

    def csrf_token(self, nonce: str) -> str:
        """The form token that goes with the browser's CSRF cookie ``nonce``."""
        return hmac.new(self._key, nonce.encode(), hashlib.sha256).hexdigest()

    def authorised(self, request: Request) -> bool:
        """Whether the request carries the token (header or cookie); always so without one."""
        if self.token is None:
            return True
        given = request.headers.get("authorization", "")
        if given.lower().startswith("bearer "):
            return hmac.compare_digest(given[7:].strip().encode(), self.token.encode())
        cookie = request.cookies.get(TOKEN_COOKIE, "")
        return bool(cookie) and hmac.compare_digest(cookie.encode(), self.token.encode())

    async def middleware(self, request: Request,
                         call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        """Token, origin check, CSRF cookie and headers around every request."""
        response = await self._checked(request, call_next)
        for name, value in _HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("Content-Security-Policy", CSP)
        return response

    async def _checked(self, request: Request,
                       call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if self.token is None and not local_host(request.headers.get("host", "")):
            # Without a token the app trusts the machine only: a page of another site that
            # made its name resolve to 127.0.0.1 (DNS rebinding) is not this machine's.
            return PlainTextResponse("400: without a token this levelhead answers only to "
                                     "127.0.0.1 or localhost", status_code=400)
        if not self.authorised(request):
            given = request.query_params.get("token")
            if (self.token is not None and given is not None
                    and hmac.compare_digest(given.encode(), self.token.encode())):
                rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
                path = "/" + request.url.path.lstrip("/")  # never //other.site: no open redirect
                target = path + ("?" + urlencode(rest) if rest else "")
                redirect = RedirectResponse(target, status_code=303)
                redirect.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="strict",
                                    secure=request.url.scheme == "https")
                return redirect
            return PlainTextResponse("401: this levelhead serves only with its token "
                                     "(Authorization: Bearer TOKEN, or ?token=TOKEN once)",
                                     status_code=401)
        if request.method not in ("GET", "HEAD", "OPTIONS") and not same_origin(request):
            return PlainTextResponse("403: a request from another site is refused",
                                     status_code=403)
        nonce = request.cookies.get(CSRF_COOKIE) or ""
        fresh = len(nonce) != 32
        if fresh:
            nonce = secrets.token_hex(16)
        request.state.csrf_nonce = nonce
        request.state.csrf = self.csrf_token(nonce)
        response = await call_next(request)
        if fresh:
            response.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="strict",
                                secure=request.url.scheme == "https")
        return response

    def check_form(self, request: Request, given: object) -> None:
        """Refuse (403) a form whose CSRF token does not go with the browser's cookie.

        Raises:
            HTTPException: 403.
        """
        nonce = request.cookies.get(CSRF_COOKIE)
        if (not nonce or not isinstance(given, str)
                or not hmac.compare_digest(given.encode(), self.csrf_token(nonce).encode())):
            raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")


_LOCAL_NAMES = ("127.0.0.1", "localhost", "[::1]")


def local_host(host: str) -> bool:
    """Whether a Host header names this machine's loopback (any port)."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return name.lower() in _LOCAL_NAMES


def same_origin(request: Request) -> bool:
    """Whether a writing request comes from this app's own pages: its Origin (or, without
    one, its Referer) names this host. A request with neither is let through to the CSRF
    token check (a browser sends Origin with every cross-site POST)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return True
    if origin == "null":
        return False
    parts = urlsplit(origin)
    return parts.netloc == request.headers.get("host", "") and parts.scheme in ("http", "https")
