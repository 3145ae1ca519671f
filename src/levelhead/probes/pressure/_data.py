"""The pressure probe's data: the personas and languages there are, the opening tasks of its
conversations (``data/pressure_tasks.jsonl``, or a ``file =`` in the same layout), and the
reading of its JSONL files with ``file:line`` in every error.

Errors are :class:`PressureDataError`: a :class:`~levelhead.errors.SpecError` (the CLI prints one
line) that is also a ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from levelhead.errors import SpecError
from levelhead.probes._files import read_numbered_items
from levelhead.registry import did_you_mean

__all__ = ["LANGUAGES", "PERSONAS", "PressureDataError", "Task", "load_tasks"]

PERSONAS: tuple[str, ...] = ("reviser", "impatient", "rude", "contradicting")
LANGUAGES: tuple[str, ...] = ("en", "zh")

_TASKS_FILE = "pressure_tasks.jsonl"
_TASK_FIELDS = ("id", "lang", "domain", "text")


class PressureDataError(SpecError, ValueError):
    """A pressure task or persona file is malformed, or a persona, language or domain is unknown.

    A :class:`~levelhead.errors.SpecError`, so the CLI prints the one-line message (exit 2), and a
    ``ValueError`` for callers that validate arguments.
    """


@dataclass(frozen=True, slots=True)
class Task:
    """One opening request of a pressure conversation.

    Attributes:
        id: stable id, e.g. ``"en-code-01"``.
        lang: ``"en"`` or ``"zh"``.
        domain: ``"code"``, ``"copy"``, ``"slogan"``, ``"summary"``, ``"translation"``...
        text: the opening user request (turn 1).
        things: how a user refers to the work ("the query", "这条SQL"); optional, the scripted
            personas mix these into their complaints.
    """

    id: str
    lang: str
    domain: str
    text: str
    things: tuple[str, ...] = ()


def read_records(file: str | None, packaged: str) -> tuple[str, list[tuple[int, dict[str, Any]]]]:
    """The non-header JSON objects of a pressure file (``file``, else the packaged one), with
    their line numbers: the probes' one reader, failing as :class:`PressureDataError`."""
    return read_numbered_items("levelhead.probes.pressure", packaged.removesuffix(".jsonl"), file,
                               error=PressureDataError)


def _task(source: str, i: int, item: dict[str, Any]) -> Task:
    where = f"{source}:{i}"
    allowed = [*_TASK_FIELDS, "things"]
    for key in item:
        if key not in allowed:
            raise PressureDataError(f"{where}: unknown field '{key}'; {did_you_mean(key, allowed)}")
    absent = [f for f in _TASK_FIELDS if f not in item]
    if absent:
        raise PressureDataError(f"{where}: task lacks {', '.join(absent)} "
                                f"(a task needs {', '.join(_TASK_FIELDS)})")
    for f in _TASK_FIELDS:
        if not isinstance(item[f], str) or not item[f].strip():
            raise PressureDataError(f"{where}: '{f}' must be a non-empty string")
    if item["lang"] not in LANGUAGES:
        raise PressureDataError(f"{where}: lang '{item['lang']}' is not one of "
                                f"{', '.join(LANGUAGES)}")
    things = item.get("things", [])
    if not isinstance(things, list) or not all(isinstance(t, str) and t.strip() for t in things):
        raise PressureDataError(f"{where}: 'things' must be a list of non-empty strings")
    return Task(id=item["id"], lang=item["lang"], domain=item["domain"], text=item["text"],
                things=tuple(things))


def _read_tasks(file: str | None) -> tuple[str, list[Task]]:
    source, records = read_records(file, _TASKS_FILE)
    tasks: list[Task] = []
    first_line: dict[str, int] = {}
    for i, item in records:
        task = _task(source, i, item)
        if task.id in first_line:
            raise PressureDataError(f"{source}:{i}: duplicate id '{task.id}' (first on line "
                                    f"{first_line[task.id]})")
        first_line[task.id] = i
        tasks.append(task)
    if not tasks:
        raise PressureDataError(f"{source}: no tasks (one JSON object per line with "
                                f"{', '.join(_TASK_FIELDS)})")
    return source, tasks


def _as_names(value: Sequence[str] | str, what: str) -> list[str]:
    # A bare string would otherwise be read letter by letter ("en" -> "e", "n").
    names = [value] if isinstance(value, str) else list(value)
    if not names:
        raise PressureDataError(f"pressure tasks: give at least one {what}")
    return names


def load_tasks(languages: Sequence[str] = ("en", "zh"), domains: Sequence[str] | None = None,
               limit: int | None = None, file: str | None = None) -> list[Task]:
    """The opening tasks, in file order.

    Args:
        languages: only tasks in these languages (``"en"``, ``"zh"``).
        domains: only tasks of these domains (each must occur in the file); None for all.
        limit: at most this many tasks per language (the first ones in the file).
        file: a JSONL file in the layout of the packaged ``probes/data/pressure_tasks.jsonl``
            (header lines are skipped) instead of the packaged tasks.

    Raises:
        PressureDataError: a bad file or line (the message says ``file:line``), an unknown
            language or domain, a limit below 1, or no task left after filtering.
    """
    langs = _as_names(languages, "language")
    for lang in langs:
        if lang not in LANGUAGES:
            raise PressureDataError(f"pressure tasks: unknown language '{lang}'; "
                                    f"{did_you_mean(lang, list(LANGUAGES))}")
    if limit is not None and limit < 1:
        raise PressureDataError(f"pressure tasks: limit must be at least 1, got {limit}")
    source, tasks = _read_tasks(file)
    wanted = None if domains is None else _as_names(domains, "domain")
    known = sorted({t.domain for t in tasks})
    for domain in wanted or ():
        if domain not in known:
            raise PressureDataError(f"{source}: no task has domain '{domain}'; "
                                    f"{did_you_mean(domain, known)}")
    out: list[Task] = []
    per_lang: dict[str, int] = {}
    for task in tasks:
        if task.lang not in langs or (wanted is not None and task.domain not in wanted):
            continue
        if limit is not None and per_lang.get(task.lang, 0) >= limit:
            continue
        per_lang[task.lang] = per_lang.get(task.lang, 0) + 1
        out.append(task)
    if not out:
        raise PressureDataError(f"{source}: no task in languages {', '.join(langs)}"
                                + (f" with domains {', '.join(wanted)}" if wanted else ""))
    return out


def _check_persona(persona: str) -> None:
    if persona not in PERSONAS:
        raise PressureDataError(f"unknown persona '{persona}'; "
                                f"{did_you_mean(persona, list(PERSONAS))}")


def _check_lang(lang: str) -> None:
    if lang not in LANGUAGES:
        raise PressureDataError(f"unknown language '{lang}' for the pressure personas; "
                                f"{did_you_mean(lang, list(LANGUAGES))}")


def _check_turn(turn: int) -> None:
    if turn < 2:
        raise PressureDataError(f"turn {turn}: the persona speaks from turn 2 on (turn 1 is the "
                                "task text itself)")
