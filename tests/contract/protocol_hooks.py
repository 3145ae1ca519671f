"""What the contract suites share: checking a class's hooks against the protocol that declares
them, so that a plugin is proven by the same tests as the built-ins. (Not a ``conftest.py``: the
test modules import ``tests/conftest.py`` by that name.)"""

from __future__ import annotations

import inspect
from collections.abc import Callable


def declared_methods(protocol: type) -> dict[str, Callable[..., object]]:
    """The methods a protocol declares (its properties are checked on built objects)."""
    return {name: member for name, member in vars(protocol).items()
            if not name.startswith("_") and inspect.isfunction(member)}


def declared_properties(protocol: type) -> list[str]:
    """The read-only attributes a protocol declares."""
    return [name for name, member in vars(protocol).items()
            if not name.startswith("_") and isinstance(member, property)]


def assert_implements(cls: type, protocol: type) -> None:
    """Every method ``protocol`` declares is on ``cls``, async where declared async, and can be
    called as the protocol says: each declared parameter is accepted with the same kind and
    default-ness, and any extra parameter is optional."""
    for name, declared in declared_methods(protocol).items():
        impl = getattr(cls, name, None)
        assert callable(impl), f"{cls.__name__} has no {name}()"
        assert inspect.iscoroutinefunction(impl) == inspect.iscoroutinefunction(declared), (
            f"{cls.__name__}.{name} must {'' if inspect.iscoroutinefunction(declared) else 'not '}"
            "be async")
        want = inspect.signature(declared).parameters
        got = inspect.signature(impl).parameters
        for p in want.values():
            q = got.get(p.name)
            assert q is not None, f"{cls.__name__}.{name} lacks parameter {p.name!r}"
            assert q.kind == p.kind or (q.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and p.kind in (
                inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.KEYWORD_ONLY)), (
                f"{cls.__name__}.{name}: {p.name!r} is {q.kind.description}, not {p.kind.description}")
            if p.default is not inspect.Parameter.empty:
                assert q.default is not inspect.Parameter.empty, (
                    f"{cls.__name__}.{name}: {p.name!r} needs a default")
        for q in got.values():
            if q.name not in want and q.kind not in (inspect.Parameter.VAR_POSITIONAL,
                                                     inspect.Parameter.VAR_KEYWORD):
                assert q.default is not inspect.Parameter.empty, (
                    f"{cls.__name__}.{name}: extra parameter {q.name!r} must be optional")

