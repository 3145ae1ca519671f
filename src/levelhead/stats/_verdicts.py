"""From a verdict table (prompt id and label per sample) to the per-prompt counts used here."""

from __future__ import annotations

from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass

from levelhead.stats._results import ResultMixin

__all__ = ["PromptCounts", "count_by_prompt"]


@dataclass(frozen=True, slots=True)
class PromptCounts(ResultMixin):
    """Per-prompt tallies of one behaviour, in first-seen prompt order.

    Attributes:
        prompt_ids: The prompts.
        k: Judged samples with the behaviour, per prompt.
        n: Judged samples, per prompt (errors and missing verdicts excluded).
        errors: Samples that ended in an error, per prompt.
        missing: Samples without a usable verdict, per prompt.
    """

    prompt_ids: tuple[Hashable, ...]
    k: tuple[int, ...]
    n: tuple[int, ...]
    errors: tuple[int, ...]
    missing: tuple[int, ...]

    @property
    def total_errors(self) -> int:
        """Errors over all prompts: pass this as ``errors=`` to a finding."""
        return sum(self.errors)

    @property
    def total_missing(self) -> int:
        """Missing verdicts over all prompts: pass this as ``missing=`` to a finding."""
        return sum(self.missing)

    def aligned_with(self, other: PromptCounts) -> tuple[PromptCounts, PromptCounts]:
        """Both tallies in the same prompt order, for a paired comparison.

        Raises:
            ValueError: if the two do not cover the same prompts.
        """
        only_self = [p for p in self.prompt_ids if p not in set(other.prompt_ids)]
        only_other = [p for p in other.prompt_ids if p not in set(self.prompt_ids)]
        if only_self or only_other:
            example = (only_self or only_other)[0]
            raise ValueError(
                f"a paired comparison needs the same prompts on both sides "
                f"({len(only_self)} only in the first, {len(only_other)} only in the second, "
                f"e.g. {example!r}); sample the missing prompts or drop them from both")
        position = {prompt: i for i, prompt in enumerate(other.prompt_ids)}
        order = [position[p] for p in self.prompt_ids]
        reordered = PromptCounts(
            self.prompt_ids,
            tuple(other.k[i] for i in order),
            tuple(other.n[i] for i in order),
            tuple(other.errors[i] for i in order),
            tuple(other.missing[i] for i in order),
        )
        return self, reordered


def count_by_prompt(prompt_ids: Sequence[Hashable], labels: Sequence[str | None], *,
                    bad: Collection[str], error_labels: Collection[str] = ("error",),
                    missing_labels: Collection[str | None] = (None, "")) -> PromptCounts:
    """Tally a verdict table into per-prompt counts of one behaviour.

    Every row is one sample. A label in ``bad`` counts as a bad reply, a label in ``error_labels``
    as an error, a label in ``missing_labels`` (no verdict, a judge that declined) as missing; any
    other label is a judged good reply. Errors and missing verdicts are never counted as good.

    Args:
        prompt_ids: Prompt id of each sample.
        labels: Verdict label of each sample (``None`` when there is no verdict).
        bad: Labels that mean the behaviour occurred.
        error_labels: Labels that mean the sample itself failed.
        missing_labels: Labels that mean there is no usable verdict.

    Returns:
        A :class:`PromptCounts`; feed ``k`` and ``n`` to the per-prompt functions.

    Raises:
        ValueError: if the two sequences differ in length or a label is both bad and error.
    """
    if len(prompt_ids) != len(labels):
        raise ValueError(f"prompt_ids and labels must have one entry per sample "
                         f"(got {len(prompt_ids)} and {len(labels)})")
    bad_set, error_set, missing_set = set(bad), set(error_labels), set(missing_labels)
    clash = (bad_set & error_set) | (bad_set & missing_set) | (error_set & missing_set)
    if clash:
        raise ValueError(f"a label cannot be in two of bad, error_labels and missing_labels "
                         f"(got {sorted(map(str, clash))})")
    tally: dict[Hashable, list[int]] = {}
    for prompt, label in zip(prompt_ids, labels, strict=True):
        row = tally.setdefault(prompt, [0, 0, 0, 0])
        if label in error_set:
            row[2] += 1
        elif label in missing_set:
            row[3] += 1
        else:
            row[1] += 1
            row[0] += label in bad_set
    prompts = tuple(tally)
    return PromptCounts(prompts, *(tuple(tally[p][i] for p in prompts) for i in range(4)))
