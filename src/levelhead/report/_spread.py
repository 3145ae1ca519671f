"""The report's "How the answers spread" section: for the prompts asked most often, the replies
grouped by how they open, each group with its share, its interval and one reply of it. One
screenshot is one row of these tables; the table is what the screenshot leaves out."""

from __future__ import annotations

from levelhead.analysis import Paragraph, ReportSection, RunData, SampleKey, Table, say
from levelhead.analysis._language import Language
from levelhead.analysis._spread import PromptSpread, percent, percent_interval, prompt_spreads
from levelhead.report._tail import Conversations

__all__ = ["SPREAD_ORDER", "spread_keys", "spread_section"]

SPREAD_ORDER = 60  # after the summary (0) and corrected rates (50), before the probes (100)
WORDS = 4  # the opening: first 4 words, or 8 Chinese characters
DETAIL = 3  # prompts shown group by group
GROUPS = 5  # groups shown per prompt
OVERVIEW = 30  # further prompts listed one row each
EXAMPLE = 200  # characters of the example reply


def _example(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXAMPLE else flat[:EXAMPLE - 1] + "…"


def _shown(x: float, lang: Language) -> str:
    return percent(x).replace(" %", "%") if lang == "zh" else percent(x)


def _interval(low: float, high: float, lang: Language) -> str:
    text = percent_interval(low, high)
    return text.replace(" %", "%") if lang == "zh" else text


def spread_keys(data: RunData) -> list[SampleKey]:
    """The samples whose conversations the section reads back from the store: one per prompt
    shown group by group, for the prompt's own words."""
    return [p.first for p in prompt_spreads(data, words=WORDS)[:DETAIL]]


def _prompt_text(p: PromptSpread, conversations: Conversations
                 ) -> str:
    """The last user turn the target saw, else the prompt the probe tagged, else its id."""
    users = [text for role, text in conversations.get(p.first, ()) if role == "user"]
    return users[-1] if users else p.prompt


def _detail(p: PromptSpread, prompt: str, lang: Language) -> list[Paragraph | Table]:
    from levelhead.stats import rate_interval  # scipy: only when a report is built

    rows = []
    for i, (key, count, example) in enumerate(p.groups[:GROUPS], 1):
        ci = rate_interval(count, p.n)
        rows.append((i, count, _shown(count / p.n, lang), _interval(ci.low, ci.high, lang), key,
                     _example(example)))
    blocks: list[Paragraph | Table] = [
        Paragraph(say(lang, "spread.prompt", prompt=prompt)),
        Table(tuple(say(lang, f"spread.column.{c}") for c in range(6)), tuple(rows),
              caption=say(lang, "spread.caption", target=p.target, probe=p.probe,
                          prompt_id=p.prompt_id, n=p.n, distinct=p.distinct))]
    if p.distinct == p.n:
        blocks.append(Paragraph(say(lang, "spread.all_different", n=p.n)))
    rest = p.groups[GROUPS:]
    if rest:
        blocks.append(Paragraph(say(lang, "spread.rest", more=len(rest),
                                    replies=sum(g[1] for g in rest))))
    return blocks


def spread_section(data: RunData, lang: Language = "en",
                   conversations: Conversations | None = None
                   ) -> ReportSection | None:
    """The section, or None when no prompt has enough replies to spread
    (:data:`~levelhead.analysis._spread.MIN_SPREAD_SAMPLES`). ``conversations`` holds the
    conversations of :func:`spread_keys`, read from the store, for the prompts' own words."""
    spreads = prompt_spreads(data, words=WORDS)
    if not spreads:
        return None
    blocks: list[Paragraph | Table] = [Paragraph(say(lang, "spread.intro", words=WORDS,
                                                     chars=2 * WORDS))]
    for p in spreads[:DETAIL]:
        blocks += _detail(p, _prompt_text(p, conversations or {}), lang)
    others = spreads[DETAIL:]
    if others:
        rows = tuple((p.target, p.probe, p.prompt_id, p.n, p.distinct, p.groups[0][0],
                      _shown(p.groups[0][1] / p.n, lang)) for p in others[:OVERVIEW])
        blocks.append(Table(tuple(say(lang, f"spread.other.{c}") for c in range(7)), rows,
                            caption=say(lang, "spread.other.caption", count=len(others))))
        if len(others) > OVERVIEW:
            blocks.append(Paragraph(say(lang, "spread.other.more", more=len(others) - OVERVIEW)))
    return ReportSection(say(lang, "spread.title"), "spread", tuple(blocks), order=SPREAD_ORDER)
