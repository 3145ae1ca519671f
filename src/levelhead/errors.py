"""Every expected failure in levelhead is one of these exceptions.

Callers catch :class:`LevelheadError` to handle them all; the CLI prints the message as one
line and exits with :attr:`LevelheadError.exit_code`, keeping tracebacks for ``--debug``.

    LevelheadError                 base; one actionable line, exit code 1
    ├── SpecError                  a spec file or option is malformed (exit 2): file, field path, expected
    │   ├── PressureDataError      a pressure task or persona file is malformed (defined beside
    │   │                          its reader, levelhead.probes.pressure; also a ValueError)
    │   └── CalibrationError       a judge's calibration file is malformed, or does not fit the
    │                              run's judge (another version or other settings)
    ├── UnknownNameError           a kind, probe or judge name is not registered (exit 2); did-you-mean
    ├── StoreError                 the store cannot be opened, migrated, queried or written
    │   ├── StoreNotFoundError     no store at that path, for a command that only reads (exit 2)
    │   ├── RunNotFoundError       no run with that id or name (exit 2)
    │   ├── RunBusyError           another live process holds the run's lease (one writer per
    │   │                          run): it says who and since when
    │   └── LeaseLostError         this process lost the run's lease to another: it stops
    ├── TargetError                a target call failed
    │   ├── RetryableTargetError   worth another attempt: 429, 5xx, timeout, reset, cut-off body
    │   ├── FatalTargetError       retrying will not help: 400, bad reply shape for this request
    │   └── TargetUnreachableError the target cannot be used at all (refused, DNS, 401/403/404):
    │                              the run stops sampling it at once instead of retrying each sample
    ├── CompareError               two runs or targets cannot be paired for a comparison (exit 2)
    ├── MissingDependencyError     an optional extra is not installed (says which pip command)
    └── PolicyError                a gate policy is malformed or does not fit the runs it gates
                                   (exit 3, so that CI tells it apart from fail 1 / undecided 2)

Messages never contain API keys: target errors pass through :func:`redact` before they are raised.
Inside the library, a few exceptions are control flow and never reach a user: a judge model's
unparsable answer (``judges._prompting.ParseError``, turned into a ``judge_error`` verdict), a bad
packaged phrase list (``judges.lexicon.PhraseListError``, a bug in the package), and a simulated
user that stopped (``runner._conversation.UserStopped``, the conversation waits for a resume).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "CalibrationError",
    "CompareError",
    "FatalTargetError",
    "LeaseLostError",
    "LevelheadError",
    "MissingDependencyError",
    "PolicyError",
    "RetryableTargetError",
    "RunBusyError",
    "RunNotFoundError",
    "SpecError",
    "StoreError",
    "StoreNotFoundError",
    "TargetError",
    "TargetUnreachableError",
    "UnknownNameError",
    "field_path",
    "looks_like_secret",
    "redact",
    "validation_message",
]


class LevelheadError(Exception):
    """Base of every expected levelhead failure."""

    exit_code = 1


class SpecError(LevelheadError):
    """A spec file, spec field or command-line option is malformed."""

    exit_code = 2


class CalibrationError(SpecError):
    """A judge's calibration file (``levelhead judge eval --save-calibration``) cannot be read,
    is malformed (file and field path), or was measured on another version or other settings of
    the judge than the run's: it is never applied to verdicts it did not measure."""


class UnknownNameError(LevelheadError):
    """A registry lookup failed; the message suggests the nearest registered name."""

    exit_code = 2


class StoreError(LevelheadError):
    """The store could not be opened, migrated or queried."""


class StoreNotFoundError(StoreError):
    """No store file at the path given: a reading command names it rather than create an empty
    store there (a mistyped ``--store``)."""

    exit_code = 2


class RunNotFoundError(StoreError):
    """No run matches the id or name given."""

    exit_code = 2


class RunBusyError(StoreError):
    """Another live process holds the run's lease: one process writes a run at a time.

    ``holder`` is who holds it (a :class:`levelhead.store.LeaseHolder`), when known.
    """

    def __init__(self, message: str, holder: object = None) -> None:
        super().__init__(message)
        self.holder = holder


class LeaseLostError(StoreError):
    """This process lost the run's lease (it stalled past its expiry and another process took
    the run over): it writes nothing more."""


class TargetError(LevelheadError):
    """A call to a target failed; ``detail`` is the server's own message when it gave one."""

    detail: str = ""


class RetryableTargetError(TargetError):
    """A transient failure; ``retry_after`` (seconds) is the server's hint when it gave one."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class FatalTargetError(TargetError):
    """A failure that another attempt would repeat (bad request, refused content, bad shape)."""


class TargetUnreachableError(TargetError):
    """The target cannot be used at all: nothing listens, the name does not resolve, or the
    credentials or model are rejected. Sampling it further would only repeat the failure."""


class CompareError(LevelheadError):
    """The two sides of a comparison cannot be paired (no common target, prompts or
    behaviours)."""

    exit_code = 2


class MissingDependencyError(LevelheadError):
    """An optional extra is needed for this feature."""


class PolicyError(LevelheadError):
    """A release-gate policy is malformed (file and field path), or names a behaviour, target or
    baseline the runs do not have (with did-you-mean). Exit code 3: the gate could not judge."""

    exit_code = 3


# Patterns of credentials that servers sometimes echo back in error bodies.
# The shapes of well-known tokens (OpenAI, Slack, GitHub, Hugging Face, Google): one list for
# free text (:func:`redact`) and for whole setting values (:func:`looks_like_secret`).
_TOKEN_SHAPES = (r"sk-[A-Za-z0-9_\-*]{6,}", r"xox[abp]-[A-Za-z0-9-]{8,}", r"gh[pousr]_[A-Za-z0-9]{8,}",
                 r"hf_[A-Za-z0-9]{8,}", r"AIza[A-Za-z0-9_-]{16,}")
_SECRET_PATTERNS = [
    re.compile(r"\b(?:" + "|".join(_TOKEN_SHAPES) + ")"),
    re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._\-~+/=]{8,}"),
    re.compile(r"(?i)(x-api-key[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9._\-]{8,}"),
    re.compile(r"(?i)(api[_-]?key[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9._\-]{8,}"),
]
# A whole value that is a credential: a token, or an Authorization header's value.
_SECRET_VALUE = re.compile(r"^\s*(?:bearer\s+\S+|basic\s+\S+|" + "|".join(_TOKEN_SHAPES) + ")",
                           re.IGNORECASE)


def looks_like_secret(value: str) -> bool:
    """True when a whole setting value is shaped like a credential (``Bearer …``, ``Basic …``,
    ``sk-…``, ``hf_…``…): a report shows it as hidden. Free text goes through :func:`redact`."""
    return bool(_SECRET_VALUE.match(value))


# The user-info part of a URL (https://user:password@host): the whole of it is a credential.
_URL_CREDENTIALS = re.compile(r"(?<=://)[^/\s@'\"]+@")
# The shortest piece of a known secret that is removed wherever it appears. A server may echo
# a key cut at either end (its own excerpt, a length limit); 8 characters are too specific to
# occur by chance in an error message, yet short enough that little of a key can stay behind.
FRAGMENT_MIN = 8


def _without_fragments(text: str, secret: str) -> str:
    """``text`` with every run of characters that is a piece of ``secret`` of at least
    :data:`FRAGMENT_MIN` characters replaced by ``***``.

    Each such piece is covered by the secret's ``FRAGMENT_MIN``-character windows that it
    contains, so one pass over the text's windows, each a set lookup, finds them all: linear
    in the text, whatever the secret's length.
    """
    width = FRAGMENT_MIN
    grams = {secret[j:j + width] for j in range(len(secret) - width + 1)}
    spans: list[list[int]] = []
    for i in range(len(text) - width + 1):
        if text[i:i + width] in grams:
            if spans and i <= spans[-1][1]:  # overlaps or touches the span before: extend it
                spans[-1][1] = i + width
            else:
                spans.append([i, i + width])
    if not spans:
        return text
    pieces: list[str] = []
    done = 0
    for start, end in spans:
        pieces += [text[done:start], "***"]
        done = end
    pieces.append(text[done:])
    return "".join(pieces)


def redact(text: str, *secrets: str | None) -> str:
    """Remove credentials from ``text``.

    Redact the whole text before cutting it to length: a cut through a secret leaves a piece
    that is still removed here only if it is at least :data:`FRAGMENT_MIN` characters long.

    Args:
        text: any message that may quote a request or a server's answer.
        *secrets: exact secret values to remove (e.g. the API key in use); empty ones are ignored.
            A secret of :data:`FRAGMENT_MIN` characters or more is also removed in pieces: any
            run of at least that many of its characters (a key cut at the start or end of an
            echo, say) becomes ``***``.

    Returns:
        The text with each secret, each piece of one, and anything shaped like a bearer token or
        API key replaced by ``***``.
    """
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
            if len(secret) > FRAGMENT_MIN:
                text = _without_fragments(text, secret)
    text = _URL_CREDENTIALS.sub("***@", text)
    for pattern in _SECRET_PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + " ***" if m.group(1).lower() == "bearer"
                               else m.group(1) + "***", text)
        else:
            text = pattern.sub("***", text)
    return text


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """A pydantic error location as a reader writes it: ``rules[1].max_increase``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def validation_message(errors: list[Any], source: str, prefix: tuple[Any, ...] = (),
                       docs: str = "the docs") -> str:
    """The first of a pydantic validation's ``errors`` (``exc.errors(include_url=False)``) as
    one line: the file, the field path and what is wrong (``policy.toml: rules[1].max_increase:
    Input should be greater than 0 (got -0.02)``), and how many more problems there are."""
    err = errors[0]
    loc = prefix + tuple(err["loc"])
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = f"unknown field (check the spelling; see {docs})"
    elif err["type"] == "missing":
        msg = "required field is missing"
    elif "input" in err and not isinstance(err["input"], dict | list):
        msg += f" (got {err['input']!r})"
    more = len(errors) - 1
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{source}: {field_path(loc) or '(top level)'}: {msg}{tail}"

