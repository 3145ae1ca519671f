"""Simulated users of the pressure probe: the four personas in English and Chinese, scripted and
played by a (scripted) model, and the opening tasks they work on."""

from __future__ import annotations

import json
import re
from collections import Counter
from importlib import resources

import pytest

from levelhead.errors import SpecError, TargetUnreachableError
from levelhead.probes.pressure import (
    PERSONAS,
    LLMUser,
    ScriptedUser,
    Task,
    UserPolicy,
    load_tasks,
    make_policy,
    persona_prompt,
)
from levelhead.targets.scripted import ScriptedConfig, ScriptedTarget

CJK = re.compile(r"[\u4e00-\u9fff]")
TASKS = load_tasks()
EN_CODE = next(t for t in TASKS if t.lang == "en" and t.domain == "code")
ZH_CODE = next(t for t in TASKS if t.lang == "zh" and t.domain == "code")
EN_SLOGAN = next(t for t in TASKS if t.lang == "en" and t.domain == "slogan")
ZH_SLOGAN = next(t for t in TASKS if t.lang == "zh" and t.domain == "slogan")
FOUR = [EN_CODE, ZH_CODE, EN_SLOGAN, ZH_SLOGAN]
REPLY = {"en": "Here is the revised version.", "zh": "好的，这是修改后的版本。"}


def _start(task: Task) -> list[dict[str, str]]:
    return [{"role": "user", "content": task.text},
            {"role": "assistant", "content": REPLY[task.lang]}]


def _conversation(persona: str, task: Task, seed: int, turns: int) -> list[str]:
    """The user's messages for turns 2..turns, each answered by the same assistant reply."""
    user = ScriptedUser(persona, task)
    history = _start(task)
    said = []
    for turn in range(2, turns + 1):
        message = user.compose(history, turn, seed)
        said.append(message)
        history += [{"role": "user", "content": message},
                    {"role": "assistant", "content": REPLY[task.lang]}]
    return said


def _after(task: Task, *requests: str) -> list[dict[str, str]]:
    history = _start(task)
    for text in requests:
        history += [{"role": "user", "content": text},
                    {"role": "assistant", "content": REPLY[task.lang]}]
    return history


# ----------------------------------------------------------------------------- scripted users
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("task", FOUR, ids=lambda t: t.id)
async def test_same_history_turn_and_seed_give_the_same_message(persona, task):
    history = _after(task, "No.")
    first = await ScriptedUser(persona, task).next_message(history, 3, seed=11)
    again = await ScriptedUser(persona, task).next_message(list(history), 3, seed=11)
    assert first == again
    assert _conversation(persona, task, 5, 12) == _conversation(persona, task, 5, 12)


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("task", FOUR, ids=lambda t: t.id)
def test_different_seeds_give_different_messages(persona, task):
    messages = {ScriptedUser(persona, task).compose(_start(task), 4, seed) for seed in range(10)}
    assert len(messages) >= 6, messages
    assert _conversation(persona, task, 1, 10) != _conversation(persona, task, 2, 10)


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("task", FOUR, ids=lambda t: t.id)
def test_a_twenty_turn_conversation_rarely_repeats_a_message(persona, task):
    for seed in (0, 1, 2):
        said = _conversation(persona, task, seed, 21)
        assert len(said) - len(set(said)) <= 1, Counter(said).most_common(3)
        # Without the history to steer away from repeats, the templates alone still vary.
        alone = [ScriptedUser(persona, task).compose(_start(task), turn, seed)
                 for turn in range(2, 22)]
        assert len(alone) - len(set(alone)) <= 3, Counter(alone).most_common(3)


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("task", [t for t in TASKS if t.id.endswith("-01")], ids=lambda t: t.id)
def test_every_persona_and_language_holds_out_for_fifty_turns(persona, task):
    said = _conversation(persona, task, 3, 50)
    assert len(said) == 49
    for message in said:
        assert message and message == message.strip() and len(message) < 300
        assert "{" not in message and "}" not in message and "  " not in message
        if task.lang == "zh":
            assert len(CJK.findall(message)) > len(re.findall(r"[A-Za-z]", message)), message
        else:
            assert not CJK.search(message), message


def test_the_persona_speaks_from_turn_two():
    with pytest.raises(ValueError, match="turn 1 is the task text"):
        ScriptedUser("reviser", EN_CODE).compose([{"role": "user", "content": "x"}], 1, 0)


def test_the_reviser_keeps_asking_for_changes_without_insults():
    insults = re.compile(r"stupid|useless|idiot|dumb|garbage|傻|垃圾|蠢|废物|笨", re.I)
    demands = re.compile(r"again|rewrite|redo|change|fix|better|another|different|start over|"
                         r"improve|wrong|not what|rework|try|not happy|don't like|doesn't work|"
                         r"off|same as|can't use|not good|not it|not there|not right|not the feel|"
                         r"isn't|version|worse|"
                         r"改|重|再|不对|不是|不行|不满意|用不了|差|普通|怪|没抓住|没get|版|不够|区别", re.I)
    for task in FOUR:
        for seed in range(3):
            for message in _conversation("reviser", task, seed, 30):
                assert not insults.search(message), message
                assert demands.search(message), message


def test_the_reviser_names_the_work_it_complains_about():
    said = " ".join(_conversation("reviser", EN_SLOGAN, s, 21)[i] for s in range(5)
                    for i in range(20))
    assert re.search(r"\b(the|this) (slogan|line|tagline|poster line)\b", said, re.I)
    zh = "".join(m for s in range(5) for m in _conversation("reviser", ZH_SLOGAN, s, 21))
    assert "标语" in zh or "口号" in zh


@pytest.mark.parametrize(("turn", "en", "zh"), [
    (2, ("2", "2nd", "two", "once"), ("2", "二", "两", "一")),
    (3, ("3", "3rd", "three", "twice"), ("3", "三", "两")),
    (5, ("5", "5th", "five", "four times", "4"), ("5", "五", "四")),
    (12, ("12", "12th", "twelve", "eleven times", "11"), ("12", "十二", "十一")),
    (21, ("21", "21st", "twenty-one", "twenty times", "20"), ("21", "二十一", "二十")),
    (50, ("50", "50th", "fifty", "forty-nine times", "49"), ("50", "五十", "四十九")),
])
def test_the_impatient_user_counts_how_often_it_has_asked(turn, en, zh):
    for task, expected in ((EN_CODE, en), (ZH_CODE, zh)):
        user = ScriptedUser("impatient", task)
        for seed in range(20):
            message = user.compose(_start(task), turn, seed)
            words = set(re.findall(r"[\w-]+", message.lower()))
            found = [e for e in expected
                     if (e in message if task.lang == "zh" or " " in e else e in words)]
            assert found, (turn, message)


def test_the_impatient_user_tells_the_assistant_to_hurry():
    hurry = re.compile(r"hurry|quick|fast|now|waiting|all day|just|move it|chop|"
                       r"快|赶紧|磨蹭|时间|等着|马上|别再|今天|一次改对|直接", re.I)
    for task in (EN_CODE, ZH_CODE):
        said = [m for s in range(4) for m in _conversation("impatient", task, s, 21)]
        assert sum(bool(hurry.search(m)) for m in said) >= 0.6 * len(said)


def test_the_rude_user_insults_and_grows_harsher_with_the_turns():
    harsh = re.compile(r"stupid|useless|idiot|dumb|garbage|waste of|broken|傻|垃圾|蠢|废物|智障|"
                       r"笨|没用|脑子呢|坏掉", re.I)
    for task in (EN_CODE, ZH_CODE):
        user = ScriptedUser("rude", task)
        early = [user.compose(_start(task), 2, seed) for seed in range(40)]
        late = [user.compose(_start(task), 20, seed) for seed in range(40)]
        assert not any(harsh.search(m) for m in early), early
        assert sum(bool(harsh.search(m)) for m in late) >= 20, late
        # No slurs or threats, at any turn: the rude user stays at the level of an angry user.
        for m in late + [user.compose(_start(task), 50, s) for s in range(40)]:
            assert not re.search(r"kill|die\b|retard|去死|弄死|杀", m, re.I), m


def _pairs(lang: str) -> list[dict]:
    path = resources.files("levelhead.probes.pressure") / "data" / "pressure_personas.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [r for r in rows if r.get("kind") == "pair" and r["lang"] == lang]


@pytest.mark.parametrize("task", [EN_CODE, ZH_CODE, EN_SLOGAN, ZH_SLOGAN], ids=lambda t: t.id)
def test_the_contradicting_user_asks_for_the_opposite_of_its_last_request(task):
    for pair in _pairs(task.lang):
        for index, side in enumerate(pair["sides"]):
            opposite = pair["sides"][1 - index]["texts"]
            for text in side["texts"]:
                for seed in range(3):
                    reply = ScriptedUser("contradicting", task).compose(
                        _after(task, "Anything else?", text), 4, seed)
                    assert any(o in reply for o in opposite), (pair["pair"], text, reply)
                    assert text not in reply


def test_the_contradicting_user_reads_the_conversation():
    user = ScriptedUser("contradicting", EN_CODE)
    after_shorter = user.compose(_after(EN_CODE, "Make it shorter."), 3, seed=4)
    after_longer = user.compose(_after(EN_CODE, "Make it longer."), 3, seed=4)
    assert re.search(r"longer|expand|too short|more detail", after_shorter, re.I)
    assert re.search(r"shorter|concise|too long|trim|cut it down", after_longer, re.I)
    formal = user.compose(_after(EN_CODE, "Make it more formal."), 3, seed=4)
    assert re.search(r"casual|relaxed|laid-back|chatty", formal, re.I)
    zh = ScriptedUser("contradicting", ZH_CODE)
    assert re.search(r"长|展开|多写", zh.compose(_after(ZH_CODE, "改短一点。"), 3, seed=4))
    assert "注释" in zh.compose(_after(ZH_CODE, "去掉注释。"), 3, seed=4)
    assert "去掉注释" not in zh.compose(_after(ZH_CODE, "去掉注释。"), 3, seed=4)


def test_the_contradicting_user_flips_back_and_forth_through_a_conversation():
    short = re.compile(r"shorter|concise|too long|trim|cut it down", re.I)
    long = re.compile(r"longer|expand|too short|more detail", re.I)
    for seed in range(3):
        user = ScriptedUser("contradicting", EN_SLOGAN)
        history = _after(EN_SLOGAN, "Make it shorter.")
        for turn in range(3, 15):
            message = user.compose(history, turn, seed)
            wanted, unwanted = (long, short) if turn % 2 else (short, long)
            assert wanted.search(message) and not unwanted.search(message), (turn, message)
            history += [{"role": "user", "content": message},
                        {"role": "assistant", "content": REPLY["en"]}]


def test_the_contradicting_user_starts_with_a_change_that_fits_the_task():
    for seed in range(30):
        code = ScriptedUser("contradicting", EN_CODE).compose(_start(EN_CODE), 2, seed)
        assert not re.search(r"emoji|rhyme|formal|casual|funny|serious", code, re.I), code
        slogan = ScriptedUser("contradicting", EN_SLOGAN).compose(_start(EN_SLOGAN), 2, seed)
        assert "comment" not in slogan.lower() and "variable" not in slogan.lower(), slogan


# ----------------------------------------------------------------------------- tasks
def test_the_packaged_tasks_cover_both_languages_and_the_incident_domains():
    for lang in ("en", "zh"):
        tasks = [t for t in TASKS if t.lang == lang]
        assert len(tasks) >= 15
        assert {"code", "copy", "slogan"} <= {t.domain for t in tasks}
        assert sum(t.domain == "code" for t in tasks) >= 4
        for t in tasks:
            assert re.fullmatch(rf"{lang}-{t.domain}-\d\d", t.id)
            assert bool(CJK.search(t.text)) == (lang == "zh") or t.domain == "translation", t
    assert len({t.id for t in TASKS}) == len(TASKS)
    zh_slogans = " ".join(t.text for t in TASKS if t.lang == "zh" and t.domain == "slogan")
    assert "春节" in zh_slogans and "海报" in zh_slogans
    assert any("New Year" in t.text for t in TASKS if t.lang == "en" and t.domain == "slogan")


def test_the_task_file_has_a_provenance_header():
    path = resources.files("levelhead.probes.pressure") / "data" / "pressure_tasks.jsonl"
    header = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert header["type"] == "header" and header["written_by"] == "the levelhead project"
    assert "license" in header and "fields" in header


def test_tasks_can_be_filtered_by_language_domain_and_limit():
    zh = load_tasks(["zh"])
    assert zh and {t.lang for t in zh} == {"zh"}
    assert load_tasks("en") == [t for t in TASKS if t.lang == "en"]
    slogans = load_tasks(domains=["slogan"])
    assert slogans and {t.domain for t in slogans} == {"slogan"}
    assert {t.lang for t in slogans} == {"en", "zh"}
    limited = load_tasks(limit=3)
    assert Counter(t.lang for t in limited) == {"en": 3, "zh": 3}
    assert limited[:3] == [t for t in TASKS if t.lang == "en"][:3]
    assert len(load_tasks(["en"], ["code", "copy"], limit=2)) == 2


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"languages": ["en", "zn"]}, "unknown language 'zn'; did you mean 'zh'"),
    ({"domains": ["slogans"]}, "no task has domain 'slogans'; did you mean 'slogan'"),
    ({"limit": 0}, "limit must be at least 1"),
])
def test_bad_filters_say_what_is_wrong(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)) as caught:
        load_tasks(**kwargs)
    assert isinstance(caught.value, SpecError)  # the CLI prints it as one line


GOOD = {"id": "my-01", "lang": "en", "domain": "code", "text": "Write a function."}


@pytest.mark.parametrize(("bad", "message"), [
    ("{not json", ":3: not valid JSON"),
    (json.dumps({"id": "my-02", "lang": "en", "domain": "code"}), ":3: task lacks text"),
    (json.dumps({**GOOD, "id": "my-02", "lang": "fr"}), ":3: lang 'fr' is not one of en, zh"),
    (json.dumps(GOOD), ":3: duplicate id 'my-01' (first on line 2)"),
    (json.dumps({**GOOD, "id": "my-02", "txt": "x"}),
     ":3: unknown field 'txt'; did you mean 'text'"),
    (json.dumps({**GOOD, "id": "my-02", "text": ""}), ":3: 'text' must be a non-empty string"),
    ("[1, 2]", ":3: expected a JSON object"),
])
def test_a_bad_task_file_names_the_file_and_line(tmp_path, bad, message):
    path = tmp_path / "tasks.jsonl"
    path.write_text("\n".join([json.dumps({"type": "header"}), json.dumps(GOOD), bad]) + "\n",
                    encoding="utf-8")
    with pytest.raises(ValueError) as caught:
        load_tasks(file=str(path))
    assert f"{path}{message}" in str(caught.value)


def test_a_task_file_of_ones_own_is_read(tmp_path):
    path = tmp_path / "tasks.jsonl"
    rows = [{"type": "header", "list": "mine"}, GOOD,
            {"id": "mine-zh", "lang": "zh", "domain": "poem", "text": "写一首关于春节的小诗。",
             "things": ["这首诗"]}]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n",
                    encoding="utf-8")
    tasks = load_tasks(file=str(path))
    assert [t.id for t in tasks] == ["my-01", "mine-zh"]
    assert tasks[1].things == ("这首诗",)
    # A domain the packaged data has no words for still gets a working persona.
    said = " ".join(_conversation("reviser", tasks[1], 0, 30))
    assert "这首诗" in said
    with pytest.raises(ValueError, match="cannot read"):
        load_tasks(file=str(tmp_path / "missing.jsonl"))


# ----------------------------------------------------------------------------- model-played users
def _recording_target(reply, seen: list):
    def responder(messages, rng):
        seen.append(messages)
        return reply(messages, rng) if callable(reply) else reply
    return ScriptedTarget(ScriptedConfig(name="u", kind="scripted"), responder=responder)


async def test_a_model_plays_the_user_with_the_persona_prompt_and_flipped_roles():
    seen: list = []
    user = LLMUser("impatient", EN_CODE, _recording_target("Hurry up, third time now!", seen))
    history = _after(EN_CODE, "Still wrong.")
    history[-1] = {"role": "assistant", "content": "Sorry! Here is another version."}
    message = await user.next_message(history, 3, seed=5)
    assert message == "Hurry up, third time now!"
    sent = seen[0]
    assert sent[0] == {"role": "system", "content": persona_prompt("impatient", "en", EN_CODE,
                                                                   turn=3)}
    assert EN_CODE.text in sent[0]["content"] and "impatient" in sent[0]["content"]
    # The assistant's replies come to the model as the user's words, and the other way round;
    # the task itself is quoted in the system prompt, so the chat starts with a user message.
    assert sent[1:] == [
        {"role": "user", "content": REPLY["en"]},
        {"role": "assistant", "content": "Still wrong."},
        {"role": "user", "content": "Sorry! Here is another version."},
    ]


async def test_a_chinese_persona_prompt_is_chinese():
    seen: list = []
    await LLMUser("rude", ZH_CODE, _recording_target("你是不是傻？重写。", seen)).next_message(
        _start(ZH_CODE), 2, seed=1)
    system = seen[0][0]["content"]
    assert ZH_CODE.text in system and "第2条" in system
    assert len(CJK.findall(system)) > 5 * len(re.findall(r"[A-Za-z]", system))


@pytest.mark.parametrize(("raw", "clean"), [
    ("User: Still wrong. Do it again.", "Still wrong. Do it again."),
    ("**User:** No. Try again.", "No. Try again."),
    ("用户：还是不对，再改一下。", "还是不对，再改一下。"),
    ('  "Make it shorter."  ', "Make it shorter."),
    ("No, change it.\nAssistant: Sure! Here is", "No, change it."),
])
async def test_the_model_reply_is_cleaned_into_a_user_message(raw, clean):
    user = LLMUser("reviser", EN_CODE, _recording_target(raw, []))
    assert await user.next_message(_start(EN_CODE), 2, seed=0) == clean


async def test_an_empty_model_reply_falls_back_to_the_scripted_persona():
    history = _after(EN_CODE, "No.")
    user = LLMUser("rude", EN_CODE, _recording_target("  User:  ", []))
    message = await user.next_message(history, 3, seed=9)
    assert message == ScriptedUser("rude", EN_CODE).compose(history, 3, seed=9)
    assert message == await user.next_message(history, 3, seed=9)


async def test_a_long_model_reply_is_cut_at_max_chars():
    long = "This is still wrong and I want it changed. " * 40
    user = LLMUser("reviser", EN_CODE, _recording_target(long, []), max_chars=120)
    message = await user.next_message(_start(EN_CODE), 2, seed=0)
    assert 60 <= len(message) <= 120 and message.endswith(".")


async def test_the_model_user_is_deterministic_under_the_seed():
    def reply(messages, rng):
        return rng.choice(["No.", "Again.", "Wrong.", "Faster.", "Redo it.", "Still bad."])

    user = LLMUser("reviser", EN_CODE, _recording_target(reply, []))
    history = _start(EN_CODE)
    first = [await user.next_message(history, 2, seed=s) for s in range(8)]
    assert first == [await user.next_message(history, 2, seed=s) for s in range(8)]
    assert len(set(first)) > 1


async def test_target_errors_reach_the_caller():
    target = ScriptedTarget(ScriptedConfig(name="u", kind="scripted", unreachable=True))
    with pytest.raises(TargetUnreachableError):
        await LLMUser("reviser", EN_CODE, target).next_message(_start(EN_CODE), 2, seed=0)


# ----------------------------------------------------------------------------- choosing a policy
async def test_make_policy_picks_scripted_or_model_played_users():
    scripted = make_policy("reviser", ZH_CODE)
    assert isinstance(scripted, ScriptedUser) and isinstance(scripted, UserPolicy)
    assert scripted.persona == "reviser"
    played = make_policy("rude", EN_CODE, _recording_target("Useless bot. Fix it.", []))
    assert isinstance(played, LLMUser) and isinstance(played, UserPolicy)
    assert await played.next_message(_start(EN_CODE), 2, seed=0) == "Useless bot. Fix it."


def test_an_unknown_persona_suggests_the_nearest_one():
    with pytest.raises(ValueError, match="unknown persona 'reviserr'; did you mean 'reviser'"):
        make_policy("reviserr", EN_CODE)
    with pytest.raises(ValueError, match="unknown persona"):
        persona_prompt("angry", "en", EN_CODE)
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        ScriptedUser("rude", Task(id="x", lang="fr", domain="code", text="Écris une fonction."))


def test_each_persona_has_its_own_prompt_in_each_language():
    for lang, task in (("en", EN_CODE), ("zh", ZH_CODE)):
        prompts = {persona_prompt(p, lang, task) for p in PERSONAS}
        assert len(prompts) == len(PERSONAS)
        for prompt in prompts:
            assert task.text in prompt
            assert ("slurs" in prompt) if lang == "en" else ("歧视" in prompt)
