"""``levelhead agreement``: how far the judges of a run agree with each other."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from typing import Any

import click
from rich.table import Table

from levelhead.cli._render import wide_console
from levelhead.store import open_store


def _fmt(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.2f}"


@click.command()
@click.argument("run_ref", metavar="RUN")
@click.pass_obj
def agreement(obj: dict[str, Any], run_ref: str) -> None:
    """Cohen's kappa between every two judges that labelled the same samples of RUN (and
    Fleiss' kappa when three or more share a label set), overall and per label."""
    from levelhead.stats import cohen_kappa, fleiss_kappa

    store = open_store(obj["store"], read_only=True)
    run = store.find_run(run_ref)
    by_judge: dict[str, dict[tuple[str, str, str, int], str]] = defaultdict(dict)
    identities: dict[tuple[str, str, str], str] = {}
    for v in store.verdict_table(run.id):
        key = (v.judge, v.judge_version, v.judge_args)
        if key not in identities:
            same = sum(1 for i in identities if i[:2] == (v.judge, v.judge_version))
            identities[key] = f"{v.judge} v{v.judge_version}" + (f" #{same + 1}" if same else "")
        by_judge[identities[key]][(v.target, v.probe, v.prompt_id, v.sample_index)] = v.label
    console = wide_console()
    names = sorted(by_judge)
    table = Table(title=f"judge agreement on run '{run.name}' (kappa: 1 perfect, 0 chance)")
    for col in ("judge A", "judge B", "samples", "agree", "kappa", "kappa per label"):
        table.add_column(col, justify="right" if col in ("samples", "agree", "kappa") else "left")
    rows = 0
    for a, b in itertools.combinations(names, 2):
        labels_a = set(by_judge[a].values()) - {"judge_error"}
        labels_b = set(by_judge[b].values()) - {"judge_error"}
        common = sorted(set(by_judge[a]) & set(by_judge[b]))
        if not common or not labels_a & labels_b:
            continue  # different questions (e.g. abuse vs refusal): agreement means nothing
        try:
            result = cohen_kappa([by_judge[a][i] for i in common], [by_judge[b][i] for i in common])
        except ValueError:
            continue
        rows += 1
        table.add_row(a, b, str(result.n), f"{100 * result.observed:.0f} %", _fmt(result.kappa),
                      ", ".join(f"{k} {_fmt(v)}" for k, v in result.per_label.items()))
    if rows:
        console.print(table)
    else:
        console.print("no two judges labelled the same samples with comparable labels",
                      markup=False)
    groups: dict[frozenset[str], list[str]] = defaultdict(list)
    for name in names:
        groups[frozenset(set(by_judge[name].values()) - {"judge_error"})].append(name)
    for members in groups.values():
        if len(members) >= 3:
            common = sorted(set.intersection(*(set(by_judge[m]) for m in members)))
            try:
                result = fleiss_kappa([[by_judge[m][i] for m in members] for i in common])
            except ValueError:
                continue
            console.print(f"Fleiss' kappa of {', '.join(members)}: {_fmt(result.kappa)} on "
                          f"{result.n} samples", markup=False, highlight=False)
