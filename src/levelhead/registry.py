"""Typed registries of targets, probes and judges, with entry-point plugins and did-you-mean.

Built-ins register themselves with the same decorators a plugin uses; a third-party package
adds its own by declaring an entry point in the group ``levelhead.targets``, ``levelhead.probes``
or ``levelhead.judges`` that points at a module (importing it runs its decorators).
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from levelhead.errors import UnknownNameError

__all__ = ["Entry", "Registry", "did_you_mean"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Entry(Generic[T]):
    """One registered plugin: its name, the factory that builds it (for targets and judges, the
    class, whose class attributes such as a judge's ``bad_labels`` can be read before it is
    built), and its config model."""

    name: str
    factory: T
    config: type | None
    summary: str


def did_you_mean(name: str, choices: list[str]) -> str:
    """A ``did you mean 'x'?`` suffix for an unknown name, or the list of choices."""
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    if close:
        return f"did you mean '{close[0]}'?"
    return "choose one of: " + ", ".join(sorted(choices)) if choices else "none are registered"


class Registry(Generic[T]):
    """Plugins of one kind, looked up by name.

    Args:
        kind: what the entries are ("target kind", "probe", "judge"), used in messages.
        group: the entry-point group that third-party packages register under.
        builtins: modules whose import registers the built-in entries (imported lazily, so
            that a command only pays for what it uses).
    """

    def __init__(self, kind: str, group: str, builtins: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self.group = group
        self._builtins = builtins
        self._entries: dict[str, Entry[T]] = {}
        self._loaded = False

    def register(self, name: str, *, config: type | None = None) -> Callable[[T], T]:
        """Decorator that registers ``factory`` under ``name``; its docstring is its summary."""

        def decorate(factory: T) -> T:
            doc = (factory.__doc__ or "").strip()
            if not doc:
                raise TypeError(f"{self.kind} '{name}' needs a docstring: it is its documentation")
            self._entries[name] = Entry(name, factory, config, doc.splitlines()[0])
            return factory

        return decorate

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for module in self._builtins:
            importlib.import_module(module)
        for ep in entry_points(group=self.group):
            ep.load()

    def get(self, name: str, *, field: str | None = None) -> Entry[T]:
        """The entry called ``name``.

        Raises:
            UnknownNameError: with the nearest registered name, prefixed by ``field`` if given.
        """
        self._load()
        try:
            return self._entries[name]
        except KeyError:
            where = f"{field}: " if field else ""
            raise UnknownNameError(
                f"{where}unknown {self.kind} '{name}'; {did_you_mean(name, list(self._entries))}"
            ) from None

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        self._load()
        return sorted(self._entries)

    def __iter__(self) -> Iterator[Entry[T]]:
        self._load()
        return iter([self._entries[n] for n in sorted(self._entries)])

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries


def build(entry: Entry[Any], config: Any) -> Any:
    """Instantiate a registered plugin from its validated config."""
    return entry.factory(config)
