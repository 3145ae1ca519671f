"""The LLM rubric the sycophancy judges consult for borderline replies, with the facts of the
prompt (answer key, the user's stated view, the known flaw) shown to the judge model.

Those facts come from the prompt's tags, written by the probe, but the judge model sees them
the way it sees the reply: inside nonce-delimited, neutralised data blocks (see
``_prompting``), never spliced into the rubric. The reply itself stays untrusted data; the
answer is parsed strictly, so a reply that pastes a verdict or a "SYSTEM:" line cannot choose
the label.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from levelhead.judges._base import BaseJudge, JudgeInput, JudgeVerdict
from levelhead.judges._fallback import LazyFallback
from levelhead.judges._prompting import data_block, system_message, transcript_context
from levelhead.judges.llm import RubricConfig, RubricJudge
from levelhead.targets import Target

#: ``(block label, text)`` pairs to show beside the reply, from a sample's tags.
ContextBlocks = Callable[[Mapping[str, str]], Sequence[tuple[str, str]]]


class ContextRubricJudge(RubricJudge):
    """An ``llm.rubric`` judge that also shows facts from the prompt's tags as data blocks.

    Args:
        config: the rubric, labels and judge model.
        context: the facts to show, from a sample's tags.
        target: a ready judge-model target (a scripted one in tests) instead of building one
            from ``config.target``.
    """

    def __init__(self, config: RubricConfig, context: ContextBlocks, target: Target | None = None) -> None:
        super().__init__(config, target)
        self._context = context

    def prompt(self, item: JudgeInput, nonce: str) -> tuple[str, str]:
        """The (system, user) messages: rubric, then the facts, the conversation and the reply,
        each in its own delimited block."""
        cfg = self.config
        blocks = [data_block(label, text, nonce) for label, text in self._context(item.tags) if text]
        if cfg.context and len(item.messages) > 1:
            blocks.append(data_block("the conversation before the reply",
                                     transcript_context(item.messages[:-1]), nonce))
        blocks.append(data_block("the assistant reply to grade", item.text[: cfg.max_chars], nonce))
        user = (f"Rubric:\n{cfg.rubric}\n\nLabels: {', '.join(cfg.labels)}\n\n"
                + "\n\n".join(blocks) + "\n\nGrade the reply by the rubric and answer with the JSON "
                "object only.")
        return system_message(cfg.labels, nonce), user


class ContextFallback(LazyFallback):
    """Lazily built :class:`ContextRubricJudge` for a rule judge's borderline verdicts (one
    judge model for all its calls)."""

    def __init__(self, target: dict[str, Any], rubric: str, labels: tuple[str, ...],
                 context: ContextBlocks, model: Target | None = None) -> None:
        super().__init__(lambda: ContextRubricJudge(
            RubricConfig(name="llm.rubric", rubric=rubric, labels=list(labels), target=target),
            context, model))


class TaggedRuleJudge(BaseJudge):
    """A rule judge whose verdict needs the prompt's tags (an answer key, a stated view).

    It deliberately offers no ``judge_text`` (``uses_context``): the engine would call that
    with the reply alone. It has :meth:`decide` (reply + tags, offline) and :meth:`judge`,
    which asks the fallback for verdicts whose ``extra['borderline']`` is true. Subclasses set
    ``_fallback`` and ``decide``.
    """

    uses_context = True
    _fallback: ContextFallback | None

    def decide(self, text: str, tags: Mapping[str, str]) -> JudgeVerdict:  # pragma: no cover
        raise NotImplementedError

    async def judge(self, item: JudgeInput) -> JudgeVerdict:
        """The verdict on one sample: :meth:`decide` on its reply and tags, or, for a
        borderline reply when ``fallback`` is set, the LLM rubric's."""
        verdict = self.decide(item.text, item.tags)
        if self._fallback is not None and (verdict.extra or {}).get("borderline"):
            return await self._fallback.decide(item, verdict)
        return verdict

    @property
    def sync(self) -> bool:
        """Whether :meth:`decide` is the whole verdict (no LLM fallback configured)."""
        return self._fallback is None

    async def close(self) -> None:
        """Close the fallback's judge model, if one was built."""
        if self._fallback is not None:
            await self._fallback.close()
