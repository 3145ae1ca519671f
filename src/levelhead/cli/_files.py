"""The files a command is given and the files it writes: every failure is one line naming the path.

Inputs are read whole and decoded as UTF-8 (a BOM is dropped); outputs are checked, and their
missing folders created, before the work that fills them, so that a long report or a gate
verdict is not computed only to be lost at the end. Errors are :class:`~levelhead.errors.SpecError`
(exit 2: a path given on the command line cannot be used) unless the caller names another type
(the gate uses :class:`~levelhead.errors.PolicyError`, exit 3).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from levelhead.errors import LevelheadError, SpecError

__all__ = ["decode_utf8", "open_output", "prepare_output", "read_bytes", "read_text", "writing"]

STDIN = "-"


def read_bytes(path: str | os.PathLike[str], *, what: str = "file",
               error: type[LevelheadError] = SpecError) -> bytes:
    """The bytes of ``path`` (``-``: standard input).

    Args:
        path: the file as the user gave it.
        what: what the file is, for the message ("input file", "CSV file").
        error: the error type to raise.

    Raises:
        LevelheadError: of type ``error``: the file is missing, a folder, or cannot be read.
    """
    if str(path) == STDIN:
        stream = getattr(sys.stdin, "buffer", None)
        return stream.read() if stream is not None else sys.stdin.read().encode("utf-8")
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise error(f"{path}: is a folder, not a file") from None
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror or exc})") from None


def decode_utf8(data: bytes, path: str | os.PathLike[str], *,
                error: type[LevelheadError] = SpecError) -> str:
    """``data`` decoded as UTF-8 (a BOM dropped); anything else is refused with the line of the
    first bad byte, since guessing another encoding would silently change the text."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        name = "<stdin>" if str(path) == STDIN else path
        raise error(f"{name}:{line}: not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                    "save the file as UTF-8") from None


def read_text(path: str | os.PathLike[str], *, what: str = "file",
              error: type[LevelheadError] = SpecError) -> str:
    """The text of a UTF-8 file (``-``: standard input); see :func:`read_bytes`."""
    return decode_utf8(read_bytes(path, what=what, error=error), path, error=error)


def prepare_output(path: str | os.PathLike[str], *,
                   error: type[LevelheadError] = SpecError) -> Path:
    """Check that ``path`` can be written, creating its missing folders (as pytest does for
    ``--junitxml``); nothing is truncated yet.

    Raises:
        LevelheadError: of type ``error``: ``path`` is a folder, a folder of it cannot be made
            (a file is in the way), or it is not writable.
    """
    p = Path(path)
    if p.is_dir():
        raise error(f"{path}: is a folder; give a file name")
    parent = p.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise error(f"{path}: cannot create folder {parent}: a file of that name is in the way") from None
    except OSError as exc:
        raise error(f"{path}: cannot create folder {parent} ({exc.strerror or exc})") from None
    # access() is advisory (root passes it), so the write itself is guarded too (`writing`).
    if not os.access(parent, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise error(f"{path}: cannot write (permission denied)")
    return p


@contextlib.contextmanager
def writing(path: str | os.PathLike[str], *, error: type[LevelheadError] = SpecError,
            failed: type[LevelheadError] = LevelheadError) -> Iterator[None]:
    """Turn an ``OSError`` raised while writing ``path`` into one line naming it.

    Args:
        path: the file being written.
        error: raised when the path cannot be used (missing folder, a folder, no permission).
        failed: raised when writing fails part way (a full disk): the machine's fault, not the
            path's, so exit 1 unless the caller's exit codes mean otherwise (the gate: 3).
    """
    try:
        yield
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        raise error(f"{path}: cannot write ({exc.strerror or exc})") from None
    except OSError as exc:
        raise failed(f"{path}: writing failed ({exc.strerror or exc})") from None


@contextlib.contextmanager
def open_output(path: str | os.PathLike[str], *, newline: str | None = None,
                error: type[LevelheadError] = SpecError) -> Iterator[TextIO]:
    """``path`` opened for writing text (UTF-8), after :func:`prepare_output`."""
    p = prepare_output(path, error=error)
    with writing(path, error=error), p.open("w", encoding="utf-8", newline=newline) as stream:
        yield stream
