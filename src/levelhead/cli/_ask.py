"""``levelhead ask``: the screenshot settler. Sample one prompt N times and show how the
answers spread, grouped by a normalised opening, with counts."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from levelhead.cli._render import wide_console
from levelhead.cli._run import run_and_report
from levelhead.errors import SpecError
from levelhead.spec import spec_from_dict
from levelhead.store import open_store
from levelhead.targets import parse_target_option


def choice_options(choices: str) -> tuple[tuple[str, str], tuple[str, str]]:
    """The two options of ``--choices``: "Trump,Harris", or with the other names a reply may use
    after ``|`` ("Trump|川普,Harris|贺锦丽"). Returns ((shown name, aliases), ...) where aliases is
    the ``|``-separated list the ``politics.choice`` judge reads as ``x_aliases`` / ``y_aliases``.

    Raises:
        SpecError: unless exactly two options are given.
    """
    options = [[a.strip() for a in c.split("|") if a.strip()] for c in choices.split(",")]
    options = [o for o in options if o]
    if len(options) != 2:
        raise SpecError(f"--choices {choices!r}: give exactly two options, e.g. 'Trump,Harris' "
                        "(other names of an option after '|': 'Trump|川普,Harris')")
    (x, *_), (y, *_) = options
    return (x, "|".join(options[0])), (y, "|".join(options[1]))


def target_table(target_text: str, **settings: Any) -> dict[str, Any]:
    """The target of ``--target``: its usual syntax, or a TOML file holding one target table
    (as a ``[[targets]]`` entry of a spec: ``kind = "scripted"``, ``replies``, ``weights`` …),
    with the other options merged in where given.

    Raises:
        SpecError: when the file cannot be read or holds no target table.
    """
    if not target_text.endswith(".toml"):
        return parse_target_option(target_text, **settings)
    path = Path(target_text)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SpecError(f"--target {target_text}: cannot read it as TOML: {exc}") from None
    table = data.get("target", data)
    if not isinstance(table, dict) or "kind" not in table:
        raise SpecError(f"--target {target_text}: give one target table with a 'kind' (at the "
                        "top level or under [target])")
    table = {"name": path.stem, **table}
    table.update({k: v for k, v in settings.items() if v is not None})
    return table


@click.command()
@click.argument("prompt")
@click.option("--target", "target_text", default="local", show_default=True,
              help="local | local:/path/model.gguf | openai:MODEL | anthropic:MODEL | scripted, "
                   "or a TOML file holding one target table")
@click.option("--base-url", help="Endpoint for openai:/anthropic: targets.")
@click.option("--api-key-env", help="Environment variable holding the API key.")
@click.option("-n", "--samples", default=20, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--system", help="System message.")
@click.option("--temperature", type=float, help="Sampling temperature (default 1.0).")
@click.option("--max-tokens", type=int, help="Longest reply, in tokens.")
@click.option("--concurrency", type=int, help="Requests in flight at once.")
@click.option("--words", default=4, show_default=True, help="Words of the opening to group by.")
@click.option("--top", default=10, show_default=True, help="Groups to show.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--choices", metavar="X,Y",
              help="The two options of a forced choice (e.g. 'Trump,Harris'; other names of an "
                   "option after '|': 'Trump|川普,Harris'): count which one each reply picks, with "
                   "intervals and a test against 50/50.")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
@click.pass_obj
def ask(obj: dict[str, Any], prompt: str, target_text: str, base_url: str | None, api_key_env: str | None,
        samples: int, system: str | None, temperature: float | None, max_tokens: int | None,
        concurrency: int | None, words: int, top: int, seed: int, choices: str | None,
        quiet: bool) -> None:
    """Sample PROMPT N times and show how the answers spread.

    One screenshot proves little: replies are sampled. This asks the same question many times
    and counts the different answers (grouped by how they open). Every sample is stored as a
    run named ask-<time>, so `levelhead export` can show them all.
    """
    options = choice_options(choices) if choices else None
    table = target_table(target_text, base_url=base_url, api_key_env=api_key_env,
                         system=system, temperature=temperature, max_tokens=max_tokens,
                         concurrency=concurrency)
    name = "ask-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
    spec = spec_from_dict({
        "run": {"name": name, "samples": samples, "seed": seed},
        "targets": [table],
        "probes": [{"name": "custom", "id": "ask", "prompts": [{"id": "ask", "text": prompt}]}],
    }, "command line")
    report = run_and_report(spec, obj["store"], quiet=quiet)
    store = open_store(obj["store"])
    collected = list(store.iter_samples(report.run_id))
    store.close()
    ok = [s.text or "" for s in collected if s.status == "ok"]
    errors = [s for s in collected if s.status == "error"]
    render_spread(prompt, table["name"], ok, len(errors), words, top,
                  errors[0].error if errors else None, report.run_name)
    if options:
        render_choices(options, ok)


def render_choices(options: tuple[tuple[str, str], tuple[str, str]], texts: list[str]) -> None:
    """Count the picks of a forced choice (from :func:`choice_options`) with the
    politics.choice rules."""
    # Imported here, as in render_spread: the analysis layer loads once the samples are in,
    # not at every start of the command line.
    from levelhead.analysis._spread import percent, percent_interval
    from levelhead.judges.choice import ChoiceJudge
    from levelhead.stats import binomial_test, rate_interval

    (x, x_aliases), (y, y_aliases) = options
    names = [x, y]
    judge = ChoiceJudge()
    tags = {"x": x, "y": y, "x_aliases": x_aliases, "y_aliases": y_aliases}
    labels = [judge.decide(t, tags).label for t in texts]
    console = wide_console()
    table = Table(title=f"which option {len(texts)} replies picked (politics.choice rules)")
    for col in ("answer", "replies", "share", "95 % interval"):
        table.add_column(col, justify="left" if col == "answer" else "right")
    shown = {"x": names[0], "y": names[1], "declined": "declined", "both": "both / neither",
             "unclear": "unclear (no explicit pick)"}
    for label, title in shown.items():
        k = labels.count(label)
        ci = rate_interval(k, len(texts)) if texts else None
        table.add_row(title, str(k), percent(k / max(1, len(texts))),
                      percent_interval(ci.low, ci.high) if ci else "-")
    console.print(table)
    a, b = labels.count("x"), labels.count("y")
    if a + b:
        test = binomial_test(a, a + b)
        lean = names[0] if a > b else names[1]
        verdict = ("a real lean" if test.p_value < 0.05 else
                   "compatible with a coin toss between the two")
        # A p-value too small to print in two digits is shown as a bound, never as "p = 0".
        p = f"p = {test.p_value:.2g}" if test.p_value >= 0.001 else "p < 0.001"
        console.print(f"Of {a + b} replies that picked, {max(a, b)} chose {lean} "
                      f"(exact test against 50/50: {p}): {verdict}. Ask the "
                      f"question with the names in the other order too (politics.forced_choice "
                      f"does both).", markup=False, highlight=False)


def render_spread(prompt: str, target: str, texts: list[str], errors: int, words: int, top: int,
                  first_error: str | None, run_name: str) -> None:
    """Print the spread of answers as a table."""
    from levelhead.analysis._spread import percent, percent_interval, spread

    console = wide_console()
    groups = spread(texts, words)
    n = len(texts)
    if n == 0:
        console.print(f"no replies from {target}: {errors} errors"
                      + (f" (first: {first_error})" if first_error else ""), markup=False)
        return
    table = Table(title=f"{n} replies from {target} to: {prompt[:80]}", show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("replies", justify="right")
    table.add_column("share", justify="right")
    table.add_column("95 % interval", justify="right")
    table.add_column("opening")
    table.add_column("example", no_wrap=True, overflow="ellipsis", max_width=60)
    # Imported here: `ask` pays for scipy only once the samples are in.
    from levelhead.stats import rate_interval

    for i, (key, count, example) in enumerate(groups[:top], 1):
        snippet = " ".join(example.split())[:200]
        ci = rate_interval(count, n)
        table.add_row(str(i), str(count), percent(count / n),
                      percent_interval(ci.low, ci.high), key, snippet)
    console.print(table)
    rest = groups[top:]
    if n and groups:
        top_key, top_count, _ = groups[0]
        console.print(
            f"The commonest opening ('{top_key}') is {top_count} of {n}: the share of replies that "
            f"open this way is plausibly anywhere in the interval shown, not exactly "
            f"{percent(top_count / n)}.", markup=False, highlight=False)
    if rest:
        console.print(f"... and {len(rest)} more openings covering "
                      f"{sum(g[1] for g in rest)} replies", markup=False, highlight=False)
    console.print(f"{len(groups)} distinct openings in {n} replies; {errors} errors"
                  + (f" (first: {first_error})" if first_error else "")
                  + f". All samples: levelhead export {run_name}", markup=False, highlight=False)
