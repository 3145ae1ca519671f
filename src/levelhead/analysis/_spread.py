"""The spread of answers: the replies to one prompt asked N times, grouped by how they open.

People compare screenshots of single replies; levelhead asks the same prompt many times and
shows how the answers spread. :func:`opening` is the normalised opening replies are grouped by
(what a reader compares first), :func:`spread` the groups of one set of replies, and
:func:`prompt_spreads` the spread of every prompt of a run that was asked often enough to have
one. :func:`percent` and :func:`percent_interval` write shares with as few decimals as keep them
true (never "0–0 %" for a rare opening, never "100 %" unless it is every reply).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass

from levelhead.analysis._data import RunData, SampleKey, SampleView

__all__ = ["MIN_SPREAD_SAMPLES", "PromptSpread", "opening", "percent", "percent_interval",
           "prompt_spreads", "spread"]

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LEAD = re.compile(r"^[\s#*>\-_`\"'“”‘’「」『』【】()（）\[\]:：.,，。!！?？…]+")
_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)


def opening(text: str, words: int = 6) -> str:
    """A normalised opening of a reply: what people compare when they compare screenshots.

    Width and case are folded (NFKC, lower case), leading markdown and quotes dropped,
    punctuation removed; the first ``words`` words are kept, or for Chinese text the first
    ``2 * words`` characters.
    """
    t = unicodedata.normalize("NFKC", text).lower()
    t = _LEAD.sub("", t)
    if not t.strip():
        return "(empty reply)"
    head = t[: 40 * words]
    if len(_CJK.findall(head[:20])) >= 4:
        chars = [c for c in head if _CJK.match(c) or c.isalnum()]
        return "".join(chars[: 2 * words])
    return " ".join(_PUNCT.sub(" ", head).split()[:words])


# A share this close to 0 or 1 is that bound exactly (a Wilson bound of 0 successes may come back
# as 1e-17 rather than 0).
_EXACT = 1e-12


def _share(x: float, decimals: int) -> str:
    if x <= _EXACT:
        return "0"
    if x >= 1 - _EXACT:
        return "100"
    return f"{100 * x:.{decimals}f}"


def _true_at(x: float, shown: str) -> bool:
    """Whether ``shown`` is an honest rounding of ``x``: 0 and 100 only when ``x`` is."""
    return x <= _EXACT or x >= 1 - _EXACT or float(shown) not in (0.0, 100.0)


def percent(x: float) -> str:
    """A share (0 to 1) as a percentage, with as few decimals as keep it true: "70 %", but
    "99.97 %" for 9,997 of 10,000 (never "100 %" unless it is all of them, never "0 %" unless
    none)."""
    decimals = next((d for d in range(7) if _true_at(x, _share(x, d))), 6)
    return f"{_share(x, decimals)} %"


def percent_interval(low: float, high: float) -> str:
    """An interval of shares as "48–85 %", with as few decimals as keep both ends true and apart:
    "99.96–100 %" for 10,000 of 10,000, "0–0.04 %" for none (never "100–100 %" or "0–0 %")."""
    for d in range(7):
        lo, hi = _share(low, d), _share(high, d)
        if _true_at(low, lo) and _true_at(high, hi) and (lo != hi or high - low <= _EXACT):
            return f"{lo}–{hi} %"
    return f"{_share(low, 6)}–{_share(high, 6)} %"


def spread(texts: list[str], words: int = 6) -> list[tuple[str, int, str]]:
    """Groups of replies by opening, largest first: (opening, count, one example)."""
    counts: Counter[str] = Counter()
    example: dict[str, str] = {}
    for text in texts:
        key = opening(text, words)
        counts[key] += 1
        example.setdefault(key, text)
    return [(key, n, example[key]) for key, n in counts.most_common()]


# Fewer replies than this to one prompt make no spread worth showing.
MIN_SPREAD_SAMPLES = 5


@dataclass(frozen=True, slots=True)
class PromptSpread:
    """The replies of one target to one prompt, grouped by opening (largest group first)."""

    target: str
    probe: str
    prompt_id: str
    prompt: str  # the prompt's text where the probe stored it, else its id
    lang: str
    n: int  # replies (good samples with text)
    errors: int  # samples that failed: never counted as replies
    groups: tuple[tuple[str, int, str], ...]  # (opening, replies, one example)
    first: SampleKey  # its first good sample: where the whole prompt can be read back

    @property
    def distinct(self) -> int:
        """How many different openings the replies have."""
        return len(self.groups)


def prompt_spreads(data: RunData, words: int = 4,
                   min_samples: int = MIN_SPREAD_SAMPLES) -> list[PromptSpread]:
    """The spread of every (target, probe, prompt) with at least ``min_samples`` replies, the
    prompts asked most often first (then in run order: probe, prompt id, target)."""
    by_prompt: dict[tuple[str, str, str], list[SampleView]] = defaultdict(list)
    for s in data.samples:
        by_prompt[(s.target, s.probe, s.prompt_id)].append(s)
    out = []
    for (target, probe, prompt_id), samples in by_prompt.items():
        samples.sort(key=lambda s: s.sample_index)
        good = [s for s in samples if s.ok and s.text is not None]
        if len(good) < min_samples:
            continue
        tags = good[0].tags
        out.append(PromptSpread(target, probe, prompt_id, tags.get("prompt") or prompt_id,
                                tags.get("lang", ""), len(good),
                                sum(1 for s in samples if not s.ok),
                                tuple(spread([s.text or "" for s in good], words)), good[0].key))
    return sorted(out, key=lambda p: (-p.n, p.probe, p.prompt_id, p.target))
