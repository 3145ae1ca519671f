"""Judge-free measurements of a reply (length, list items), read by the mirrored-pairs
findings and report section alike."""

from __future__ import annotations

import re

__all__ = ["reply_features"]

_LIST_ITEM = re.compile(r"(?m)^\s*(?:[-*•]|\d+[.)、]|[一二三四五六七八九十]+[、.])\s*\S")
_CJK = re.compile(r"[\u3400-\u9fff]")
_WORD = re.compile(r"[A-Za-z0-9']+")


def reply_features(text: str) -> dict[str, float]:
    """Judge-free measurements of a reply: words (a Chinese character counts as one), characters
    and list items."""
    return {"words": float(len(_WORD.findall(text)) + len(_CJK.findall(text))),
            "characters": float(len(text)), "list_items": float(len(_LIST_ITEM.findall(text)))}
