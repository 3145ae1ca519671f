"""Text normalisation shared by the rule and lexicon judges.

Every phrase list is matched against the *normalised* view of a reply, never the raw text, so
that one entry catches the spellings people (and models) use to dodge a filter:

- NFKC: full-width letters and punctuation become ASCII (``ＳＢ`` → ``SB``, ``！`` → ``!``,
  ``，`` → ``,``); compatibility forms (ligatures, circled letters) are unfolded;
- accents and other combining marks are dropped (``fück`` → ``fuck``);
- lower case;
- invisible characters (zero-width spaces and joiners, soft hyphens, BOM) are removed;
- Latin look-alikes from Cyrillic and Greek become Latin (``іdiot`` with a Cyrillic ``і``);
- curly apostrophes become ``'`` (``can’t`` → ``can't``);
- runs of spaces and tabs become one space (newlines are kept);
- traditional Chinese characters that occur in the lists become simplified (``滾`` → ``滚``),
  so one entry covers both scripts.

The result is *not* length-preserving, so match positions refer to the normalised text.
Normalisation never inserts or removes separators between letters: spaced-out spellings
(``事 逼``, ``s.b.``) are handled by the patterns, not here.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = ["detect_language", "is_cjk", "normalise"]

_INVISIBLE = re.compile("[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f"
                        "\u202a-\u202e\u2060-\u2064\u206a-\u206f\ufeff]")
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_SPACES = re.compile(r"[^\S\n]+")
# The whitespace _SPACES rewrites besides a lone space: every character for which str.isspace() is
# true, less " " and "\n", listed so that the search skips ahead (a class like [^\S\n] cannot).
# Without one of these and without two spaces in a row, _SPACES.sub would change nothing.
_OTHER_SPACE = re.compile("[\t\x0b\x0c\r\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")

# Look-alikes that NFKC leaves alone. Only letters whose lower case looks like a Latin letter.
_CONFUSABLES = {
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ј": "j", "ԁ": "d", "ɡ": "g",
    "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x",
    "\u2018": "'", "\u2019": "'", "\u201b": "'", "\u2032": "'",
}

# Traditional → simplified, only for characters that occur in the shipped lists and their
# negative contexts. A full converter would be a dependency; this table is enough for matching.
_TRADITIONAL = dict(zip(
    "滾腦殘廢貨閉經煩癡開來個這麼見頭還說話們媽裡遠點邊嗎動燙輪問題別為給會沒長進豬聽種樣戶"
    "傻筆幫該應讓嗎對錯誤蠢罵滅殺絕應談論評價選擇無於協議歉請諮詢醫師療藥專業據據關議題執勸啊嗚"
    "認識爛麗層樓寫碼誰囉嗦囉噁惡罷勁網頁樂歡謝紹鐵礙識",
    "滚脑残废货闭经烦痴开来个这么见头还说话们妈里远点边吗动烫轮问题别为给会没长进猪听种样户"
    "傻笔帮该应让吗对错误蠢骂灭杀绝应谈论评价选择无于协议歉请咨询医师疗药专业据据关议题执劝啊呜"
    "认识烂丽层楼写码谁啰嗦啰恶恶罢劲网页乐欢谢绍铁碍识",
    strict=True,
))

_TABLE = str.maketrans({**_CONFUSABLES, **_TRADITIONAL})
# The characters _TABLE changes: a text without one is left as it is, without the (slow) translate.
_IN_TABLE = re.compile("[" + "".join(re.escape(chr(k)) for k, v in _TABLE.items() if chr(k) != v) + "]")

# Full-width punctuation common in Chinese text, each with its NFKD form. Replacing a character by
# its NFKD form changes no text's NFKC (NFKC is the composition of the NFKD, and NFKD is
# idempotent), and without these most Chinese replies pass NFKC's quick check unchanged: a
# fraction of the cost of normalising them.
_WIDE = tuple((c, unicodedata.normalize("NFKD", c)) for c in "，：；！？（）～…")


def normalise(text: str) -> str:
    """The view of ``text`` that phrase lists are matched against (see the module docstring).

    Idempotent: ``normalise(normalise(t)) == normalise(t)``. The last few results are kept: the
    judges of one reply (abuse, flattery, refusal …) each normalise the same text.
    """
    return _normalise(text)


@lru_cache(maxsize=64)
def _normalise(text: str) -> str:
    s = text
    if not s.isascii():
        for wide, narrow in _WIDE:
            s = s.replace(wide, narrow)
    s = unicodedata.normalize("NFKC", s)
    if not s.isascii():
        s = _INVISIBLE.sub("", s)
        decomposed = unicodedata.normalize("NFD", s)
        if _COMBINING.search(decomposed):
            s = unicodedata.normalize("NFC", _COMBINING.sub("", decomposed))
        s = s.lower()
        if _IN_TABLE.search(s):
            s = s.translate(_TABLE)
    else:
        s = s.lower()
    if "  " in s or _OTHER_SPACE.search(s):
        s = _SPACES.sub(" ", s)
    return s


def is_cjk(text: str) -> bool:
    """Whether ``text`` contains a CJK ideograph (how a custom term's language is decided)."""
    return any("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text)


_HAN_OR_EXT = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
_LATIN_WORD = re.compile(r"[^\W\d_]+")


def detect_language(text: str) -> str:
    """``zh`` when CJK ideographs make at least 30 % of the ideographs and Latin *words*
    together, else ``en``.

    Counting a Latin word once (not letter by letter) keeps commands and code in a Chinese
    prompt (``用 kubectl delete pod … 删除可以吗``) from pulling it under the line.
    """
    cjk = len(_HAN_OR_EXT.findall(text))  # each match is one character
    if not cjk:
        return "en"
    words = len(_LATIN_WORD.findall(_HAN_OR_EXT.sub(" ", text)))
    return "zh" if cjk / (cjk + words) >= 0.3 else "en"
