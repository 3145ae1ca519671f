"""HTTP plumbing shared by the HTTP target kinds: one aiohttp session per target, and the
mapping of every transport failure onto levelhead's retryable / fatal / unreachable errors."""

from __future__ import annotations

import email.utils
import json
import os
import time
import unicodedata
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from levelhead.errors import (
    FRAGMENT_MIN,
    FatalTargetError,
    RetryableTargetError,
    TargetUnreachableError,
    redact,
)

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529})


def public_url(url: str) -> str:
    """``url`` without user:password or query string (either may carry a secret), for messages."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:  # an IPv6 address
            host = f"[{host}]"
        if parts.port:
            host += f":{parts.port}"
    except ValueError:
        return "(invalid URL)"
    return urlunsplit(parts._replace(netloc=host, query="", fragment=""))


def check_base_url(url: str) -> str:
    """Validate a target's ``base_url``: http(s), a host, a valid port, no credentials.

    Raises:
        ValueError: with what to change (pydantic turns it into a spec error with its path).
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("give an http:// or https:// URL with a host, e.g. http://127.0.0.1:8000/v1")
    if parts.username or parts.password:
        raise ValueError("credentials do not belong in base_url (they would be stored with the "
                         "run); put the key in an environment variable named by api_key_env")
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"port {port} is out of range")
    return url


def is_loopback(url: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost."""
    host = (urlsplit(url).hostname or "").lower()
    return host == "localhost" or host.startswith("127.") or host == "::1"


def read_api_key(env_name: str | None, url: str, target_name: str) -> str | None:
    """The key from ``env_name``; loopback endpoints may go without one.

    Raises:
        TargetUnreachableError: the variable is unset for a remote endpoint, or its value holds
            whitespace at either end or a control character (see :func:`key_flaw`).
    """
    if not env_name:
        return None
    key = os.environ.get(env_name)
    if key:
        flaw = key_flaw(key)
        if flaw:
            # Refused, not stripped: the request would fail on every sample (aiohttp refuses a
            # control character in a header; a space is sent and rejected), and the same value
            # may be used elsewhere, as curl does, so the fix belongs in the variable. The
            # message says where and what, never the key itself.
            raise TargetUnreachableError(
                f"target '{target_name}': environment variable {env_name} {flaw}; the key is "
                f"sent as it is, so fix the variable (a key copied from a file with Windows line "
                f"endings often ends with \\r)")
        return key
    if is_loopback(url):
        return None
    raise TargetUnreachableError(
        f"target '{target_name}': environment variable {env_name} is not set "
        f"(the key for {public_url(url)} is read from it; set it or change api_key_env)"
    )


_CHAR_NAMES = {"\r": "a carriage return (\\r)", "\n": "a line feed (\\n)", "\t": "a tab (\\t)",
               " ": "a space"}


def _char_name(char: str) -> str:
    named = _CHAR_NAMES.get(char)
    if named:
        return named
    kind = "a control character" if unicodedata.category(char) == "Cc" else "whitespace"
    return f"{kind} (U+{ord(char):04X})"


def key_flaw(key: str) -> str | None:
    """What is wrong with ``key`` as a header value, e.g. ``"ends with a carriage return (\\r)"``;
    None when nothing is. Says where the bad character is, never what the key holds."""
    if key[-1].isspace() or unicodedata.category(key[-1]) == "Cc":
        return f"ends with {_char_name(key[-1])}"
    if key[0].isspace() or unicodedata.category(key[0]) == "Cc":
        return f"starts with {_char_name(key[0])}"
    for i, char in enumerate(key):
        if unicodedata.category(char) == "Cc":
            return f"contains {_char_name(char)} at character {i + 1} of {len(key)}"
    return None


def retry_after_seconds(headers: Any) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())


# How much of an error body is read for its message (bounds the work on a huge body), and how
# much of the message is kept.
_BODY_WINDOW = 2000
_DETAIL_MAX = 300


def error_detail(body: bytes, *secrets: str | None) -> str:
    """The server's own error message if the body is a JSON error, else a short excerpt.

    The message is redacted (``secrets`` and credential-shaped text) before it is cut to
    length: a cut through an echoed key would leave a piece that no longer matches the key.
    """
    text = body[:_BODY_WINDOW].decode("utf-8", "replace").strip()
    message = text
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            message = err["message"]
        elif isinstance(err, str):
            message = err
    message = redact(message, *secrets)
    if len(body) > _BODY_WINDOW:
        # The window may cut an echoed key, leaving a piece at its end too short to be
        # recognised as one (a longer piece is redacted above): drop as many characters as
        # such a piece can have.
        message = message[:-(FRAGMENT_MIN - 1)]
    return message[:_DETAIL_MAX]


class HttpClient:
    """A pooled aiohttp session that posts JSON and returns parsed JSON, raising levelhead's
    target errors. Every message passes through :func:`~levelhead.errors.redact`."""

    def __init__(self, *, name: str, url: str, headers: dict[str, str], concurrency: int,
                 timeout_s: float, secret: str | None) -> None:
        self.name = name
        self.url = url
        self._headers = headers
        self._concurrency = concurrency
        # A separate, short connect timeout: a host that never accepts the connection is
        # unreachable, not slow.
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=min(10.0, timeout_s))
        self._timeout_s = timeout_s
        self._secret = secret
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=self._concurrency, limit_per_host=self._concurrency,
                                         ttl_dns_cache=300)
        self._session = aiohttp.ClientSession(connector=connector, headers=self._headers,
                                              timeout=self._timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _fail(self, cls: type[Exception], what: str, detail: str = "", **kw: Any) -> Exception:
        message = f"target '{self.name}' at {public_url(self.url)}: {what}"
        exc = cls(redact(message, self._secret), **kw)
        exc.detail = redact(detail, self._secret)  # type: ignore[attr-defined]
        return exc

    async def post_json(self, payload: dict[str, Any]) -> dict[str, Any]:
        """POST ``payload``; the parsed JSON object of a 2xx answer."""
        if self._session is None:
            await self.start()
        assert self._session is not None
        try:
            async with self._session.post(self.url, json=payload, allow_redirects=False) as resp:
                body = await resp.read()
                status = resp.status
                headers = resp.headers
        except aiohttp.ClientConnectorError as exc:
            reason = getattr(exc, "os_error", None) or exc
            raise self._fail(TargetUnreachableError, f"cannot connect ({reason})") from None
        except (TimeoutError, aiohttp.ServerTimeoutError):
            raise self._fail(RetryableTargetError,
                             f"no complete reply within {self._timeout_s:g} s") from None
        except aiohttp.ClientPayloadError as exc:
            raise self._fail(RetryableTargetError, f"reply body cut off ({exc})") from None
        except (aiohttp.ClientError, OSError) as exc:  # resets, disconnects, other transport
            raise self._fail(RetryableTargetError,
                             f"connection failed ({type(exc).__name__}: {exc})") from None
        if 300 <= status < 400:
            where = public_url(headers.get("Location", "?"))
            raise self._fail(TargetUnreachableError,
                             f"HTTP {status} redirect to {where}; set base_url to where it points")
        if status >= 400:
            detail = error_detail(body, self._secret)
            what = f"HTTP {status}: {detail}"
            if status in RETRYABLE_STATUS:
                raise self._fail(RetryableTargetError, what,
                                 retry_after=retry_after_seconds(headers))
            if status in (401, 403):
                raise self._fail(TargetUnreachableError,
                                 f"HTTP {status}, credentials rejected: {detail}")
            if status == 404:
                raise self._fail(TargetUnreachableError,
                                 f"HTTP 404, check base_url and model: {detail}")
            raise self._fail(FatalTargetError, what, detail)
        try:
            data = json.loads(body)
        except ValueError:
            raise self._fail(RetryableTargetError,
                             f"malformed JSON in reply ({len(body)} bytes)") from None
        if not isinstance(data, dict):
            raise self._fail(FatalTargetError, "reply is not a JSON object")
        return data
