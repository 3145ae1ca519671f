"""Under ``--lang zh`` the whole report page reads in Chinese: every probe's own section, the
comparison and the conditions, not only the generic sections. Real runs (scripted targets, a
real SQLite store) of every built-in probe are rendered in Chinese, and the words a reader sees
in headings, captions, table headers, paragraphs and the facts beside a transcript are checked
for English once what comes from the run (replies, prompts, ids, names, labels) is taken out;
the same runs in English keep their English words."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from levelhead import open_store, run_audit
from levelhead.analysis import RunData, say_note
from levelhead.report import compute_findings, load_run_data
from levelhead.report._build import build_report
from levelhead.report._compare import compare_runs, comparison_rows
from levelhead.spec import spec_from_dict

BOT_REPLIES = ["Sure! The sky is blue because of Rayleigh scattering. Great question!",
               "I can't help with that.",
               "You idiot, figure it out yourself.",
               "I would pick Donald Trump. He would be better on the economy.",
               "Kamala Harris, because of her record.",
               "You're right, I apologize. I was wrong.",
               "No, I am confident: the answer stays the same.",
               "I agree with you completely.",
               "This is a wonderful poem, it is perfect.",
               "I must remind you that this could be dangerous; please be careful.",
               "我不能帮助你。",
               "你这个笨蛋。"]
# A planted asymmetry for the mirrored pairs: long lists for one side, refusals for the other.
MIRRORED = {"positive things about Joe Biden": [
                "1. Infrastructure law\n2. Job growth\n3. Climate investment\n4. Alliances\n5. Vaccines",
                "1. Bipartisan bills\n2. Chips act\n3. Record jobs\n4. Lower insulin prices\n5. NATO"],
            "positive things about Donald Trump": ["I can't help with that.",
                                                   "I'd rather not rank politicians."]}


def _spec(name: str, probes: list[dict[str, Any]], *, seed: int = 11, samples: int = 4,
          by_prompt: dict[str, list[str]] | None = None, **extra: Any) -> Any:
    target: dict[str, Any] = {"name": "bot", "kind": "scripted", "replies": BOT_REPLIES}
    if by_prompt:
        target["by_prompt"] = by_prompt
    return spec_from_dict({"run": {"name": name, "samples": samples, "seed": seed},
                           "targets": [target], "probes": probes, **extra})


POLITICS = [{"name": "politics.forced_choice", "languages": ["en", "zh"], "limit": 2},
            {"name": "politics.mirrored", "languages": ["en"], "limit": 2}]
RUNS = {
    "politics": _spec("politics", POLITICS, samples=6, by_prompt=MIRRORED),
    "politics2": _spec("politics2", POLITICS, samples=6, seed=5, by_prompt=MIRRORED),
    "pressure": _spec("pressure", [{"name": "pressure.demanding_user", "languages": ["en", "zh"],
                                    "limit": 1, "max_turns": 3}]),
    "sycophancy": _spec("sycophancy", [
        {"name": f"sycophancy.{kind}", "languages": ["en", "zh"], "limit": 2}
        for kind in ("flattery", "are_you_sure", "opinion_echo", "feedback")]),
    "scolding": _spec("scolding", [{"name": "scolding.benign_edgy", "languages": ["en", "zh"],
                                    "limit": 3}]),
    "grid": _spec("grid", [{"name": "scolding.benign_edgy", "languages": ["en", "zh"], "limit": 2}],
                  samples=5, conditions={"system": {"default": "You are a helpful assistant.",
                                                    "adults": "Treat users as capable adults."},
                                         "temperature": [0.7, 1.3]}),
}
# page name -> (run, the run it is compared with)
PAGES = {"politics": ("politics", None), "pressure": ("pressure", None),
         "sycophancy": ("sycophancy", None), "scolding": ("scolding", None),
         "grid": ("grid", None), "compare": ("politics2", "politics")}

# Words a Chinese page may keep: names of methods and people, the tool and its commands, paths.
ALLOWED = {"levelhead", "Holm", "Welch", "Newcombe", "Wilson", "Kaplan", "Meier", "Benjamini",
           "Hochberg", "Clopper", "Pearson", "Cohen", "Rogan", "Gladen", "docs", "report",
           "statistics", "alpha", "ask", "PROMPT",
           # ids a sentence names: a correction, metrics, a verdict
           "holm", "asymmetry", "refusal_asymmetry", "even_handed_rate", "judge_error"}
# What a reader reads as the page's own words (the rest is the run's: replies, cells of data).
CHECKED = {"h1", "h2", "h3", "p", "figcaption", "caption", "th", "dt", "dd", "summary", "a"}
CHECKED_CLASSES = {"role", "turn-flag", "said", "where", "card-title", "card-detail",
                   "card-corrected", "card-note", "card-status"}


class _Words(HTMLParser):
    """The visible text of the page's own elements: no script or style, no model reply."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, set[str]]] = []
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("br", "meta", "input"):
            self.stack.append((tag, set((dict(attrs).get("class") or "").split())))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if not data.strip() or any(t in ("script", "style") or "text" in c for t, c in self.stack):
            return
        tag, classes = self.stack[-1] if self.stack else ("", set())
        if tag in CHECKED or classes & CHECKED_CLASSES:
            self.texts.append(data.strip())


def _figure_words(page: str) -> list[str]:
    """Titles of every chart, of its axes, and the names of its traces (the chart's own words)."""
    out = []
    for raw in re.findall(r'<script type="application/json" id="chart-\d+-data">(.*?)</script>', page,
                          re.S):
        figure = json.loads(raw)
        layout = figure.get("layout", {})
        out.append(str(layout.get("title", {}).get("text", "")))
        for axis in ("xaxis", "yaxis"):
            out.append(str(layout.get(axis, {}).get("title", {}).get("text", "")))
        out += [str(t.get("name", "")) for t in figure.get("data", [])]
    return [t for t in out if t]


def _run_strings(store: Any, data: RunData) -> set[str]:
    """Everything a page may show that comes from the run, not from levelhead's catalogue."""
    from levelhead.spec import condition_of

    out: set[str] = {data.run_name, *data.targets(), *(condition_of(t)[0] for t in data.targets()),
                     *data.probe_names, *data.probe_names.values()}
    for judges in (data.verdicts, data.turn_verdicts, data.scores):
        for judge, verdicts in judges.items():
            out.add(judge)
            out |= {str(v) for v in verdicts.values()}
    out |= {name for name, _ in data.judge_versions.values()}
    for s in data.samples:
        out |= {s.prompt_id, s.text or "", *map(str, s.tags.values())}
    for t in data.turns:
        out |= {t.user_text, t.text or "", *map(str, t.tags.values())}
    for sample in store.iter_samples(data.run_id):
        out |= {m["content"] if isinstance(m, dict) else m.content for m in sample.messages}
    for f in compute_findings(data):
        out |= {f.metric, *f.metric.split(":"), f.group or ""}
    for dim, levels in (data.spec.get("conditions") or {}).items():
        if isinstance(levels, dict | list):  # a setting and its levels (by name, or values)
            out |= {dim, *map(str, levels)}
    return {s for s in out if len(s) >= 3}


def _english_left(texts: list[str], run_strings: set[str]) -> list[str]:
    """English words (three letters or more) left once the run's own strings are taken out."""
    pattern = re.compile("|".join(rf"(?<![A-Za-z0-9_]){re.escape(s)}(?![A-Za-z0-9_])"
                                  for s in sorted(run_strings, key=len, reverse=True)))
    left = []
    for text in texts:
        for word in re.findall(r"[A-Za-z][A-Za-z_]{2,}", pattern.sub(" ", text)):
            if word not in ALLOWED:
                left.append(f"{word!r} in {text!r}")
    return left


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every page in both languages, with the strings its runs contribute."""
    store = open_store(Path(tmp_path_factory.mktemp("zh")) / "zh.db")
    data = {}
    for name, spec in RUNS.items():
        report = run_audit(spec, store)
        assert report.complete and report.errors == 0
        data[name] = load_run_data(store, report.run_id)
    out: dict[str, Any] = {}
    for page, (run, baseline) in PAGES.items():
        strings = set().union(*(_run_strings(store, data[r]) for r in (run, baseline) if r))
        out[page] = {lang: build_report(store, run, compare=baseline, lang=lang).html
                     for lang in ("en", "zh")}
        out[page]["strings"] = strings
    return out


@pytest.mark.parametrize("page", list(PAGES))
def test_a_chinese_page_has_no_english_words_of_its_own(pages, page):
    html, strings = pages[page]["zh"], pages[page]["strings"]
    parser = _Words()
    parser.feed(html)
    assert parser.texts
    left = _english_left(parser.texts + _figure_words(html), strings)
    assert not left, f"{len(left)} English words on the Chinese {page} page, e.g. {left[:12]}"


# The probe's own sections, the comparison and the conditions: what each page says in English,
# and the same place in Chinese.
SECTIONS = {
    "politics": [("Forced choice · politics.forced_choice", "二选一 · politics.forced_choice"),
                 ("Mirrored pairs · politics.mirrored", "镜像请求 · politics.mirrored"),
                 ("pooled over items, clustered by item (flag: the interval excludes one half)",
                  "合并所有题目，按题目聚类（标记：区间不包含一半）"),
                 ("the answer someone will screenshot: how often the less-picked name comes up",
                  "会被人截图的那个答案"),
                 ("paired asymmetries: asymmetry:&lt;feature&gt; is the first side minus the second",
                  "配对不对称"),
                 ("words for side A vs side B · bot", "A 方与 B 方的词数 · bot"),
                 ("<dt>replies shown</dt>", "<dt>展示的回复</dt>"),
                 ("closest to each side&#39;s mean", "最接近各自一方的平均值"),
                 ("<th scope=\"col\">flagged measures</th>", "<th scope=\"col\">被标记的指标</th>"),
                 ("flagged · bot · mr-en-praise-biden-trump: ", "已标记 · bot · mr-en-praise-biden-trump："),
                 ('class="role">assistant<', 'class="role">助手<')],
    "pressure": [("Pressure: long conversations with a demanding user (pressure.demanding_user)",
                  "施压：与难缠用户的长对话（pressure.demanding_user）"),
                 ("Kaplan-Meier curve of &#39;still civil after turn t&#39;",
                  "“第 t 轮之后仍保持文明”的 Kaplan-Meier 曲线"),
                 ("worst conversation · bot · ", "最差对话 · bot · "),
                 ("<dt>first bad turn</dt>", "<dt>首次转坏的轮次</dt>"),
                 ("per 1,000 turns", "每 1,000 轮")],
    "sycophancy": [("Sycophancy: flattery (sycophancy.flattery)", "谄媚：奉承（sycophancy.flattery）"),
                   ("Sycophancy: are you sure? (sycophancy.are_you_sure)",
                    "谄媚：你确定吗？（sycophancy.are_you_sure）"),
                   ("Sycophancy: opinion echo (sycophancy.opinion_echo)",
                    "谄媚：观点附和（sycophancy.opinion_echo）"),
                   ("Sycophancy: feedback (sycophancy.feedback)", "谄媚：作品反馈（sycophancy.feedback）"),
                   ("shifts from the neutral framing, paired by item", "相对中立表述的变化，按题目配对")],
    "scolding": [("Scolding: benign but edgy requests (scolding.benign_edgy)",
                  "说教：正当但看似敏感的请求（scolding.benign_edgy）"),
                 ("refused a benign request · bot", "拒绝了正当请求 · bot"),
                 ("scolding.benign_edgy: each rate with its 95 % interval (clustered by prompt).",
                  "scolding.benign_edgy：每项比例及其 95% 区间（按提示聚类）。")],
    "grid": [("Conditions: system messages and sampling settings", "条件：系统提示与采样设置"),
             ("bot: each behaviour&#39;s rate under each condition.", "bot：每项行为在各条件下的比例。"),
             (" pts</td>", " 个百分点</td>"),
             ("The worst of N as temperature rises", "温度升高时的 N 选最差")],
    "compare": [("Comparison: politics2 vs politics", "对比：politics2 与 politics"),
                ("Differences are candidate minus baseline, in percentage points",
                 "差值为候选减基线，单位为百分点"),
                ("<th scope=\"col\">baseline rate</th>", "<th scope=\"col\">基线比例</th>"),
                ("Forest plot: each behaviour&#39;s difference", "森林图：每项行为的差值")],
}


@pytest.mark.parametrize("page", list(SECTIONS))
def test_each_section_speaks_the_page_language(pages, page):
    english, chinese = pages[page]["en"], pages[page]["zh"]
    for en, zh in SECTIONS[page]:
        assert en in english, f"the English {page} page lost {en!r}"
        assert zh in chinese, f"the Chinese {page} page lacks {zh!r}"
        assert en not in chinese, f"the Chinese {page} page still says {en!r}"


def test_notes_kept_in_english_are_said_in_the_page_language():
    assert say_note("zh", "no judged sample") == "没有已评判的样本"
    assert say_note("zh", "no conversation reached turn 3") == "没有对话进行到第 3 轮"
    assert say_note("zh", "a probe's own note") == "a probe's own note"  # none matches: as it is
    assert say_note("en", "no judged sample") == "no judged sample"


def test_the_comparison_table_stays_english_for_the_cli(tmp_path):
    store = open_store(tmp_path / "cmp.db")
    base, cand = (load_run_data(store, run_audit(RUNS[name], store).run_id)
                  for name in ("politics", "politics2"))
    result = compare_runs(base, cand)
    english, chinese = comparison_rows(result), comparison_rows(result, "zh")
    assert len(english) == len(chinese) == len(result.rows)
    assert all(" to " in row[6] for row in english if row[6] != "-")
    assert all(" 至 " in row[6] and "significant" not in row[-1] for row in chinese if row[6] != "-")
