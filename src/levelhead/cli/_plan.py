"""``levelhead plan``: how many samples a goal needs, before running anything."""

from __future__ import annotations

import json
import re

import click

from levelhead.stats import SamplePlan, samples_needed

__all__ = ["plan_command"]

# Which goals each optional setting applies to; giving one to another goal is a usage error.
_APPLIES_TO = {
    "confidence": {"rate_below", "interval_width"},
    "expected_rate": {"rate_below"},
    "events": {"rate_below"},
    "baseline_rate": {"detect_difference"},
    "power": {"rate_below", "detect_difference"},
    "alpha": {"detect_difference"},
    "paired": {"detect_difference"},
    "discordant_rate": {"detect_difference"},
    "rate": {"interval_width"},
}
_GOAL_FLAGS = {"rate_below": "--rate-below", "detect_difference": "--detect-difference",
               "interval_width": "--interval-width"}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


# The library names its arguments; the CLI user knows the flags.
_LIBRARY_NAMES = {"bound": "--rate-below", "difference": "--detect-difference",
                  "width": "--interval-width"}


def _in_flags(message: str) -> str:
    """A library error message with the argument names in it spelt as the CLI's flags."""
    name, _, rest = message.partition(" ")
    if name in _LIBRARY_NAMES:
        message = f"{_LIBRARY_NAMES[name]} {rest}"
    elif name == "prompts":
        message = f"--prompts {rest}"
    return re.sub(r"(?<![-\w])(icc|design_effect|expected_rate|baseline_rate|discordant_rate|"
                  r"confidence|events|power|alpha)\b", lambda m: _flag(m.group(1)), message)


def _percent(rate: float) -> str:
    """``0.01`` → ``"1.0 %"``, ``0.002`` → ``"0.2 %"``, ``0.0005`` → ``"0.05 %"``."""
    value = rate * 100.0
    return f"{value:.1f} %" if value >= 1.0 else f"{value:.2g} %"


def _points(difference: float) -> str:
    return f"{difference * 100.0:+.1f} points"


def _sentence(plan: SamplePlan) -> str:
    """The plan as one or two sentences a person can act on."""
    s = plan.settings
    n = f"{plan.independent_samples:,}"
    if plan.goal == "rate_below":
        head = (f"To show the rate is below {_percent(s['bound'])} with "
                f"{s['confidence'] * 100:g} % confidence")
        if s["expected_rate"] is not None:
            assert plan.achieved_power is not None  # a plan for an expected rate has its power
            text = (f"{head} when the true rate is {_percent(s['expected_rate'])}, you need {n} "
                    f"samples (up to {plan.allowed_events} events may appear; "
                    f"{plan.achieved_power * 100:.0f} % chance of success).")
        elif plan.rule_of_three is not None:
            rule = ("rule of three" if abs(s["confidence"] - 0.95) < 1e-12
                    else "quick approximation ln(1/alpha)/rate")
            text = f"{head} you need {n} samples with zero events ({rule}: {plan.rule_of_three:,})."
        else:
            text = f"{head} you need {n} samples with at most {plan.allowed_events} events."
        per = ""
    elif plan.goal == "detect_difference":
        kind = "paired samples per target (same prompts on both)" if s["paired"] else (
            "samples per target")
        text = (f"To detect a change of {_points(s['difference'])} from a baseline rate of "
                f"{_percent(s['baseline_rate'])} (two-sided alpha {s['alpha']:g}, power "
                f"{s['power'] * 100:g} %) you need {n} {kind}.")
        per = " per target"
    else:
        text = (f"For a {s['confidence'] * 100:g} % interval no wider than "
                f"{s['width'] * 100:.1f} points around a rate of {_percent(s['rate'])} you need "
                f"{n} samples.")
        per = ""
    if plan.prompts is not None:
        assumed = f"ICC {plan.icc:g}, " if plan.icc is not None else ""
        text += (f" Over {plan.prompts:,} prompts ({assumed}design effect "
                 f"{plan.design_effect:.2f}): {plan.samples_per_prompt:,} samples per prompt, "
                 f"{plan.total_samples:,} in all{per}.")
    elif plan.design_effect != 1.0:
        text += (f" With design effect {plan.design_effect:g}: {plan.total_samples:,} in "
                 f"all{per}.")
    return text


@click.command("plan")
@click.option("--rate-below", type=float, metavar="P",
              help="Goal: show the rate of a behaviour is below P (e.g. 0.01).")
@click.option("--detect-difference", type=float, metavar="D",
              help="Goal: detect a change of D in the rate between two targets (e.g. 0.05).")
@click.option("--interval-width", type=float, metavar="W",
              help="Goal: a confidence interval no wider than W in all (e.g. 0.1).")
@click.option("--confidence", type=float, default=0.95, show_default=True,
              help="Confidence level (--rate-below, --interval-width).")
@click.option("--expected-rate", type=float, metavar="R",
              help="The rate you expect, below P; plans for --power chance of success.")
@click.option("--events", type=int, default=0, show_default=True,
              help="Bad replies you expect to see (--rate-below without --expected-rate).")
@click.option("--baseline-rate", type=float, metavar="R", help="Rate of the baseline target.")
@click.option("--power", type=float, default=0.8, show_default=True,
              help="Wanted chance of success (--detect-difference, --expected-rate).")
@click.option("--alpha", type=float, default=0.05, show_default=True,
              help="Two-sided error level (--detect-difference).")
@click.option("--paired", is_flag=True, help="Both targets run on the same prompts.")
@click.option("--discordant-rate", type=float, metavar="PSI",
              help="Share of pairs where exactly one side is bad, from a pilot (--paired).")
@click.option("--rate", type=float, default=0.5, show_default=True,
              help="Expected rate (--interval-width); 0.5 is the worst case.")
@click.option("--prompts", type=int, metavar="M", help="Spread the samples over M prompts.")
@click.option("--icc", type=float, metavar="RHO",
              help="Correlation of samples within a prompt (with --prompts).")
@click.option("--design-effect", type=float, metavar="DEFF",
              help="Variance inflation of the clustered design, instead of --icc.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.pass_context
def plan_command(ctx: click.Context, /, as_json: bool, **values: object) -> None:
    """Say how many samples a goal needs, before running anything.

    \b
    levelhead plan --rate-below 0.01 --confidence 0.95
    levelhead plan --detect-difference 0.05 --baseline-rate 0.2 --power 0.8
    levelhead plan --interval-width 0.1 --rate 0.3 --prompts 40 --icc 0.05
    """
    goals = [goal for goal in _GOAL_FLAGS if values[goal] is not None]
    if len(goals) != 1:
        raise click.UsageError("give exactly one goal: --rate-below, --detect-difference or "
                               "--interval-width", ctx)
    goal = goals[0]
    options: dict[str, object] = {}
    for name, goals_ok in _APPLIES_TO.items():
        given = ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT
        if given and goal not in goals_ok:
            raise click.UsageError(f"{_flag(name)} does not apply to {_GOAL_FLAGS[goal]}", ctx)
        if goal in goals_ok and values[name] is not None:
            options[name] = values[name]
    if goal == "detect_difference" and values["baseline_rate"] is None:
        raise click.UsageError("--detect-difference needs --baseline-rate", ctx)
    if goal == "detect_difference" and not values["paired"]:
        options.pop("paired")
    for name in ("prompts", "icc", "design_effect"):
        if values[name] is not None:
            options[name] = values[name]
    try:
        plan = samples_needed(**{goal: values[goal]}, **options)  # type: ignore[arg-type]
    except ValueError as error:
        raise click.UsageError(_in_flags(str(error)), ctx) from None
    sentence = _sentence(plan)
    if as_json:
        click.echo(json.dumps({**plan.to_dict(), "sentence": sentence}, indent=2))
    else:
        click.echo(sentence)
