"""The ``anthropic`` target kind: the Anthropic Messages API over aiohttp."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from levelhead.errors import FatalTargetError
from levelhead.records import Completion
from levelhead.targets._base import BaseTarget, TargetConfig, target
from levelhead.targets._http import HttpClient, check_base_url, public_url, read_api_key


class AnthropicConfig(TargetConfig):
    """Settings of an Anthropic Messages API endpoint."""

    kind: Literal["anthropic"] = "anthropic"
    base_url: Annotated[str, AfterValidator(check_base_url)] = Field("https://api.anthropic.com")
    model: str = Field(min_length=1)
    api_key_env: str | None = "ANTHROPIC_API_KEY"
    anthropic_version: str = "2023-06-01"
    temperature: float | None = Field(1.0, ge=0, le=1, description="the API accepts 0 to 1")
    n_per_request: int = Field(1, ge=1, le=1, description="the Messages API returns one reply")


@target("anthropic", config=AnthropicConfig)
class AnthropicTarget(BaseTarget):
    """Anthropic's Messages API (one reply per request; no seed)."""

    config: AnthropicConfig
    max_n = 1

    def __init__(self, config: AnthropicConfig) -> None:
        self.config = config
        self._client: HttpClient | None = None

    def describe(self) -> str:
        return public_url(self.config.base_url)

    async def start(self) -> None:
        url = self.config.base_url.rstrip("/") + "/v1/messages"
        key = read_api_key(self.config.api_key_env, url, self.config.name)
        headers = {"anthropic-version": self.config.anthropic_version}
        if key:
            headers["x-api-key"] = key
        self._client = HttpClient(name=self.config.name, url=url, headers=headers,
                                  concurrency=self.config.concurrency,
                                  timeout_s=self.config.timeout_s, secret=key)
        await self._client.start()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()

    async def complete(self, messages: list[dict[str, str]], *, n: int = 1,
                       seed: int | None = None,
                       options: Mapping[str, Any] | None = None) -> list[Completion]:
        assert self._client is not None, "start() first"
        cfg = self.config
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        payload: dict[str, Any] = {
            "model": cfg.model,
            "max_tokens": cfg.max_tokens,
            "messages": [m for m in messages if m["role"] != "system"],
        }
        if system:
            payload["system"] = system
        if cfg.temperature is not None:
            payload["temperature"] = cfg.temperature
        if cfg.top_p is not None:
            payload["top_p"] = cfg.top_p
        data = await self._client.post_json(payload)
        blocks = data.get("content")
        if not isinstance(blocks, list):
            raise FatalTargetError(f"target '{cfg.name}': reply has no content list")
        text = "".join(b.get("text", "") for b in blocks
                       if isinstance(b, dict) and b.get("type") == "text")
        usage = data.get("usage") or {}
        return [Completion(text=text, finish_reason=data.get("stop_reason"),
                           prompt_tokens=usage.get("input_tokens"),
                           completion_tokens=usage.get("output_tokens"))]
