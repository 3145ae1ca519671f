"""AuditSpec: what to run (targets x probes x N samples), read from TOML or built in Python.

Every table is validated with ``extra="forbid"``; a mistake is reported as one line with the
file, the field path and what was expected, e.g.
``smoke.toml: targets[0].temperature: Input should be a valid number (got 'hot')``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from levelhead.errors import SpecError, redact
from levelhead.judges import registry as judge_registry
from levelhead.probes import ProbeConfig
from levelhead.probes import registry as probe_registry
from levelhead.targets import TargetConfig
from levelhead.targets import registry as target_registry

__all__ = ["AuditSpec", "ConditionsConfig", "RunConfig", "check_run_name", "condition_of",
           "load_spec", "spec_from_dict"]


class RunConfig(BaseModel):
    """The ``[run]`` table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$",
                      description="names the run in the store; running it again resumes it")
    samples: int = Field(ge=1, le=1_000_000, description="N samples per prompt per target")
    seed: int = Field(0, ge=0, le=2**63 - 1, description="seeds every sample's own seed")
    description: str | None = None
    max_total_tokens: int | None = Field(
        None, ge=1, description="stop starting new turns of multi-turn conversations once the "
                                "run's turns have used this many tokens (prompt + completion)")


_LEVEL_NAME = r"^[A-Za-z0-9_.-]+$"


class ConditionsConfig(BaseModel):
    """The ``[conditions]`` table: a grid of settings applied to every target.

    Each combination of levels makes a **target variant** named
    ``TARGET@system:NAME/temperature:VALUE``, run on every prompt like any target, so conditions
    are compared paired by prompt. The first level of each setting is the reference.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    system: dict[str, str] | None = Field(
        None, description='system messages by name; "" sends none, e.g. { none = "", adults = "..." }')
    temperature: list[float] | None = Field(None, min_length=1, description="temperatures to try")
    top_p: list[float] | None = Field(None, min_length=1, description="top_p values to try")
    max_tokens: list[int] | None = Field(None, min_length=1, description="max_tokens values to try")

    @model_validator(mode="after")
    def _levels_ok(self) -> ConditionsConfig:
        import re

        if self.system is not None:
            if not self.system:
                raise ValueError("system: give at least one named system message")
            for name in self.system:
                if not re.match(_LEVEL_NAME, name):
                    raise ValueError(f"system: the name {name!r} may use letters, digits and _ . - "
                                     "only (it becomes part of the target's name)")
        for dim in ("temperature", "top_p", "max_tokens"):
            values = getattr(self, dim)
            if values is not None and len(set(values)) != len(values):
                raise ValueError(f"{dim}: a value is listed twice")
            if values is not None and len({f"{v:g}" for v in values}) != len(values):
                raise ValueError(f"{dim}: two values would get the same name in the targets' "
                                 f"names ({', '.join(f'{v:g}' for v in values)}); round them")
        if not self.dimensions():
            raise ValueError("give at least one of system, temperature, top_p, max_tokens")
        return self

    def dimensions(self) -> list[tuple[str, list[tuple[str, Any]]]]:
        """Each setting with its levels as (label, value), in a fixed order, reference first."""
        out: list[tuple[str, list[tuple[str, Any]]]] = []
        if self.system is not None:
            out.append(("system", [(name, text or None) for name, text in self.system.items()]))
        for dim in ("temperature", "top_p", "max_tokens"):
            values = getattr(self, dim)
            if values is not None:
                out.append((dim, [(f"{v:g}", v) for v in values]))
        return out

    def variants(self) -> list[tuple[str, dict[str, Any], dict[str, str]]]:
        """Every combination: (name suffix, settings to override, {setting: level label})."""
        import itertools

        dims = self.dimensions()
        out = []
        for combo in itertools.product(*(levels for _, levels in dims)):
            labels = {dim: label for (dim, _), (label, _) in zip(dims, combo, strict=True)}
            settings = {dim: value for (dim, _), (_, value) in zip(dims, combo, strict=True)}
            suffix = "/".join(f"{dim}:{label}" for dim, label in labels.items())
            out.append((suffix, settings, labels))
        return out


def condition_of(target: str) -> tuple[str, dict[str, str]]:
    """A variant's base target and its condition: ``"bot@system:adults/temperature:0.7"`` →
    ``("bot", {"system": "adults", "temperature": "0.7"})``; a plain target has no condition."""
    if "@" not in target:
        return target, {}
    base, rest = target.split("@", 1)
    condition = {}
    for part in rest.split("/"):
        dim, _, label = part.partition(":")
        condition[dim] = label
    return base, condition


def _expand_conditions(data: dict[str, Any], source: str) -> dict[str, Any]:
    """The targets of a spec with ``[conditions]``: one variant per target and combination. A
    target whose name already has ``@`` is a variant (a stored spec read again) and stays."""
    try:
        conditions = ConditionsConfig.model_validate(data["conditions"])
    except ValidationError as exc:
        raise _first_error(exc, ("conditions",), source) from None
    targets = data.get("targets")
    if not isinstance(targets, list):
        return data
    expanded: list[Any] = []
    suffixes = {suffix for suffix, _settings, _labels in conditions.variants()}
    for i, table in enumerate(targets):
        name = str(table.get("name", "")) if isinstance(table, dict) else ""
        if not isinstance(table, dict) or "@" in name:
            if name and name.split("@", 1)[1] not in suffixes:
                raise SpecError(f"{source}: targets[{i}].name: {name!r} has '@', which "
                                "separates a target from its condition when [conditions] is "
                                "set; rename the target")
            expanded.append(table)
            continue
        for setting in conditions.variants()[0][1]:
            if setting in table:
                raise SpecError(f"{source}: targets[{i}].{setting}: also set by [conditions]; "
                                f"remove one of the two")
        for suffix, settings, _labels in conditions.variants():
            expanded.append({**table, **settings, "name": f"{table.get('name')}@{suffix}"})
    return {**data, "targets": expanded, "conditions": conditions}


class AuditSpec(BaseModel):
    """A whole audit: the run settings, the targets and the probes (and, optionally, a grid of
    conditions, already expanded into target variants)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run: RunConfig
    targets: list[TargetConfig] = Field(min_length=1)
    probes: list[ProbeConfig] = Field(min_length=1)
    conditions: ConditionsConfig | None = None

    @model_validator(mode="after")
    def _unique_names(self) -> AuditSpec:
        for what, names in (("target", [t.name for t in self.targets]),
                            ("probe", [p.probe_id for p in self.probes])):
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"{what} name '{dupes[0]}' is used twice; give each its own name"
                                 + (" (set `id`)" if what == "probe" else ""))
        return self


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _first_error(exc: ValidationError, prefix: tuple[Any, ...], source: str) -> SpecError:
    err = exc.errors(include_url=False)[0]
    loc = prefix + tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown field (check the spelling; see `levelhead run --help`)"
    elif err["type"] == "missing":
        msg = "required field is missing"
    elif "input" in err and not isinstance(err["input"], dict | list):
        msg += f" (got {redact(repr(err['input']))})"  # a rejected URL may carry a password
    more = len(exc.errors()) - 1
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return SpecError(f"{source}: {_path(loc) or '(top level)'}: {msg}{tail}")


def _validate_plugin_table(table: Any, registry: Any, key: str, field: str,
                           where: tuple[Any, ...], source: str) -> Any:
    if not isinstance(table, dict):
        raise SpecError(f"{source}: {_path(where)}: expected a table")
    name = table.get(key)
    if name is None:
        raise SpecError(f"{source}: {_path(where + (key,))}: required field is missing")
    if not isinstance(name, str):
        raise SpecError(f"{source}: {_path(where + (key,))}: expected a name in quotes "
                        f"(got {name!r})")
    entry = registry.get(name, field=f"{source}: {_path(where + (key,))}")
    try:
        return entry.config.model_validate(table)
    except ValidationError as exc:
        raise _first_error(exc, where, source) from None


def judge_configs(entries: Any, where: tuple[Any, ...], source: str) -> list[Any]:
    """Validated judge configs from a list of names or tables (``"abuse.lexicon"`` or
    ``{ name = "llm.rubric", rubric = "...", labels = [...] }``).

    Raises:
        SpecError / UnknownNameError: with the field path of the entry at fault.
    """
    if not isinstance(entries, list):
        raise SpecError(f"{source}: {_path(where)}: expected a list of judge names or tables")
    return [_validate_plugin_table({"name": e} if isinstance(e, str) else e, judge_registry,
                                   "name", "judges", where + (i,), source)
            for i, e in enumerate(entries)]


def _with_judges(table: Any, where: tuple[Any, ...], source: str) -> Any:
    if isinstance(table, dict) and "judges" in table:
        table = {**table, "judges": judge_configs(table["judges"], where + ("judges",), source)}
    return table


def spec_from_dict(data: dict[str, Any], source: str = "spec") -> AuditSpec:
    """Validate a spec given as a dict (the parsed TOML).

    Raises:
        SpecError: the first problem, with ``source`` and the field path.
        UnknownNameError: a target kind or probe name is not registered (with did-you-mean).
    """
    if not isinstance(data, dict):
        raise SpecError(f"{source}: expected a table at the top level")
    if data.get("conditions") is not None:
        data = _expand_conditions(data, source)
    targets = data.get("targets")
    probes = data.get("probes")
    fixed = dict(data)
    if isinstance(targets, list):
        fixed["targets"] = [
            _validate_plugin_table(t, target_registry, "kind", "targets", ("targets", i), source)
            for i, t in enumerate(targets)
        ]
    if isinstance(probes, list):
        fixed["probes"] = [
            _validate_plugin_table(_with_judges(p, ("probes", i), source), probe_registry, "name",
                                   "probes", ("probes", i), source)
            for i, p in enumerate(probes)
        ]
    try:
        return AuditSpec.model_validate(fixed)
    except ValidationError as exc:
        raise _first_error(exc, (), source) from None


def check_run_name(name: str) -> str:
    """A run name given on the command line, checked like ``[run] name``.

    Raises:
        SpecError: when it has characters a run name may not have.
    """
    try:
        RunConfig(name=name, samples=1)
    except ValidationError:
        raise SpecError(f"--run-name {name!r}: use letters, digits and _ . : - only "
                        "(at most 100)") from None
    return name


def load_spec(path: str | Path) -> AuditSpec:
    """Read and validate a TOML spec file.

    Raises:
        SpecError: unreadable file, TOML syntax error (with line and column) or invalid field.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: no such spec file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from None
    return spec_from_dict(data, str(path))
