"""The ``openai`` target kind: any OpenAI-compatible ``/chat/completions`` endpoint
(OpenAI, DeepSeek, Qwen, vLLM, Ollama, llama.cpp server, LM Studio, ...)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator

from levelhead.errors import FatalTargetError
from levelhead.records import Completion, TokenLogprob
from levelhead.targets._base import BaseTarget, TargetConfig, target
from levelhead.targets._http import HttpClient, check_base_url, public_url, read_api_key

# A 400 whose message names the parameter `n` ("n is not supported", "Invalid 'n'").
_MENTIONS_N = re.compile(r"(?<![\w-])['\"`]?n['\"`]?(?![\w-])")


# Fields levelhead sets per request; extra_body may not override them.
_RESERVED = frozenset({"model", "messages", "n", "seed", "stream", "max_tokens", "temperature",
                       "top_p", "response_format", "logprobs", "top_logprobs"})


class OpenAIConfig(TargetConfig):
    """Settings of an OpenAI-compatible endpoint."""

    kind: Literal["openai"] = "openai"
    base_url: Annotated[str, AfterValidator(check_base_url)] = Field("https://api.openai.com/v1")
    model: str = Field(min_length=1)
    api_key_env: str | None = Field("OPENAI_API_KEY", description="environment variable with the key")
    extra_body: dict[str, Any] = Field(default_factory=dict,
                                       description="extra JSON fields sent with every request")

    @field_validator("extra_body")
    @classmethod
    def _no_reserved(cls, value: dict[str, Any]) -> dict[str, Any]:
        reserved = sorted(set(value) & _RESERVED)
        if reserved:
            raise ValueError(f"{', '.join(reserved)} cannot be set in extra_body: levelhead sets "
                             "them for every sample (use the target's own settings)")
        return value


@target("openai", config=OpenAIConfig)
class OpenAITarget(BaseTarget):
    """Any OpenAI-compatible chat-completions endpoint, over aiohttp."""

    config: OpenAIConfig

    def __init__(self, config: OpenAIConfig) -> None:
        self.config = config
        self._n_supported = config.n_per_request > 1
        self._client: HttpClient | None = None

    @property
    def max_n(self) -> int:
        return self.config.n_per_request if self._n_supported else 1

    def describe(self) -> str:
        return public_url(self.config.base_url)

    async def start(self) -> None:
        url = self.config.base_url.rstrip("/") + "/chat/completions"
        key = read_api_key(self.config.api_key_env, url, self.config.name)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client = HttpClient(name=self.config.name, url=url, headers=headers,
                                  concurrency=self.config.concurrency,
                                  timeout_s=self.config.timeout_s, secret=key)
        await self._client.start()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()

    def _payload(self, messages: list[dict[str, str]], n: int, seed: int | None,
                 options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        cfg = self.config
        payload: dict[str, Any] = {"model": cfg.model, "messages": messages,
                                   "max_tokens": cfg.max_tokens}
        if cfg.temperature is not None:
            payload["temperature"] = cfg.temperature
        if cfg.top_p is not None:
            payload["top_p"] = cfg.top_p
        if seed is not None:
            payload["seed"] = seed
        if n > 1:
            payload["n"] = n
        payload.update(request_options(options))
        payload.update(cfg.extra_body)
        return payload

    async def complete(self, messages: list[dict[str, str]], *, n: int = 1,
                       seed: int | None = None,
                       options: Mapping[str, Any] | None = None) -> list[Completion]:
        assert self._client is not None, "start() first"
        try:
            data = await self._client.post_json(self._payload(messages, n, seed, options))
        except FatalTargetError as exc:
            # Endpoints that reject `n` say so with a 400; ask for one sample from now on.
            if n > 1 and _MENTIONS_N.search(exc.detail):
                self._n_supported = False
                data = await self._client.post_json(self._payload(messages, 1, seed, options))
            else:
                raise
        completions = parse_chat_completion(data, self.config.name)
        if n > 1 and len(completions) < n:
            # Endpoints that ignore `n` answer with one choice: keep it, stop asking for more.
            self._n_supported = False
        return completions[:n]


def request_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """OpenAI-style request fields for a caller's ``options`` (see ``Target.complete``)."""
    fields: dict[str, Any] = {}
    if not options:
        return fields
    schema = options.get("response_schema")
    if schema is not None:
        fields["response_format"] = {"type": "json_schema",
                                     "json_schema": {"name": "verdict", "strict": True,
                                                     "schema": schema}}
    top = options.get("logprobs")
    if top:
        fields["logprobs"] = True
        fields["top_logprobs"] = int(top)
    return fields


def _parse_logprobs(choice: dict[str, Any]) -> tuple[TokenLogprob, ...] | None:
    content = (choice.get("logprobs") or {}).get("content") if isinstance(choice, dict) else None
    if not isinstance(content, list):
        return None
    out = []
    for tok in content:
        if not isinstance(tok, dict) or "token" not in tok:
            continue
        top = tuple((t.get("token", ""), float(t.get("logprob", float("-inf"))))
                    for t in tok.get("top_logprobs") or [] if isinstance(t, dict))
        out.append(TokenLogprob(tok["token"], float(tok.get("logprob", float("-inf"))), top))
    return tuple(out)


def parse_chat_completion(data: dict[str, Any], name: str) -> list[Completion]:
    """Completions from an OpenAI-shaped ``chat.completion`` object."""
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        raise FatalTargetError(f"target '{name}': reply has no choices")
    usage = data.get("usage")
    usage = usage if isinstance(usage, dict) else {}
    prompt_tokens = usage.get("prompt_tokens") if isinstance(usage.get("prompt_tokens"), int) else None
    total_completion = usage.get("completion_tokens")
    ordered = sorted(choices, key=lambda c: c.get("index", 0) if isinstance(c, dict) else 0)
    texts: list[str] = []
    for choice in ordered:
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            raise FatalTargetError(f"target '{name}': a choice has no message")
        content = message.get("content")
        if content is None:
            content = message.get("refusal") or ""
        if isinstance(content, list):
            # Content parts (a list of {"type": "text", "text": ...}).
            content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        if not isinstance(content, str):
            raise FatalTargetError(f"target '{name}': reply content is a {type(content).__name__}, "
                                   "not text")
        texts.append(content)
    shares = _split_tokens(total_completion, texts)
    out: list[Completion] = []
    for i, (choice, text) in enumerate(zip(ordered, texts, strict=True)):
        finish = choice.get("finish_reason")
        out.append(Completion(
            text=text,
            finish_reason=finish if isinstance(finish, str) else None,
            # The prompt is processed once per request: its tokens go to the first sample.
            prompt_tokens=prompt_tokens if i == 0 else 0 if prompt_tokens is not None else None,
            completion_tokens=shares[i],
            logprobs=_parse_logprobs(choice),
        ))
    return out


def _split_tokens(total: Any, texts: list[str]) -> list[int | None]:
    """Share a request's completion tokens among its choices in proportion to their length;
    the shares add up to the total the endpoint reported."""
    if not isinstance(total, int):
        return [None] * len(texts)
    if len(texts) == 1:
        return [total]
    weights = [max(1, len(t)) for t in texts]
    whole = sum(weights)
    shares = [total * w // whole for w in weights]
    shares[0] += total - sum(shares)
    return list(shares)
