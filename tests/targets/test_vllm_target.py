"""The ``vllm`` target without vLLM or a GPU: its settings through the spec loader, the error
when vLLM is missing, and its glue to vLLM's offline API run through the real runner into a
real SQLite store.

The glue is exercised against a stand-in ``vllm`` package written below into a temporary folder
and put first on ``sys.path``: it stands in for the third-party engine only (``LLM``,
``SamplingParams``, ``__version__``), records every call and answers deterministically.
Everything of levelhead's runs for real. The real engine is tested in ``tests_gpu/``.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner

from levelhead import open_store, run_audit
from levelhead.cli import cli
from levelhead.errors import (
    FatalTargetError,
    MissingDependencyError,
    SpecError,
    TargetUnreachableError,
)
from levelhead.runner._sampling import sample_seed
from levelhead.spec import load_spec, spec_from_dict
from levelhead.targets import build_target, parse_target_option
from levelhead.targets.vllm import VllmConfig, VllmTarget

FAKE_VERSION = "0.0.0+levelhead.stand.in"

# A stand-in for vLLM's offline API (the parts levelhead uses), in the shapes vLLM returns.
FAKE_VLLM = textwrap.dedent('''
    """A stand-in for vLLM: records calls, answers deterministically; tokens are characters."""
    import hashlib
    import threading

    __version__ = "FAKE_VERSION"
    CALLS = {"llm": [], "generate": [], "threads": set()}


    class OutOfMemoryError(RuntimeError):
        """Named like torch.cuda.OutOfMemoryError."""


    class EngineDeadError(RuntimeError):
        """Named like vllm.v1.engine.exceptions.EngineDeadError."""


    class SamplingParams:
        def __init__(self, n=1, seed=None, temperature=1.0, top_p=1.0, max_tokens=16,
                     logprobs=None, **other):
            if n < 1:
                raise ValueError(f"n must be at least 1, got {n}.")
            self.n, self.seed, self.temperature, self.top_p = n, seed, temperature, top_p
            self.max_tokens, self.logprobs, self.other = max_tokens, logprobs, other


    class Logprob:
        def __init__(self, logprob, rank, decoded_token):
            self.logprob, self.rank, self.decoded_token = logprob, rank, decoded_token


    class CompletionOutput:
        def __init__(self, index, text, token_ids, finish_reason, logprobs):
            self.index, self.text, self.token_ids = index, text, token_ids
            self.finish_reason, self.logprobs = finish_reason, logprobs


    class RequestOutput:
        def __init__(self, prompt_token_ids, outputs):
            self.prompt_token_ids, self.outputs = prompt_token_ids, outputs


    class Tokenizer:
        def apply_chat_template(self, messages, tokenize=True, add_generation_prompt=False):
            if any(m["role"] == "system" and "NO SYSTEM" in m["content"] for m in messages):
                raise ValueError("System role not supported")
            assert add_generation_prompt and not tokenize
            return ("<s>" + "".join(f"<{m['role']}>{m['content']}" for m in messages)
                    + "<assistant>")

        def encode(self, text, add_special_tokens=True):
            assert not add_special_tokens, "the template wrote the special tokens already"
            return [ord(c) for c in text]


    class LLM:
        def __init__(self, **kwargs):
            if kwargs["model"] == "too-big":
                raise ValueError("No available memory for the cache blocks. Try increasing "
                                 "`gpu_memory_utilization` when initializing the engine.")
            CALLS["llm"].append(kwargs)

        def get_tokenizer(self):
            return Tokenizer()

        def generate(self, prompts, sampling_params, use_tqdm=True):
            CALLS["threads"].add(threading.get_ident())
            texts = ["".join(map(chr, p["prompt_token_ids"])) for p in prompts]
            CALLS["generate"].append([(t, sp.n, sp.seed, sp.temperature, sp.max_tokens)
                                      for t, sp in zip(texts, sampling_params)])
            if any("OOM" in t for t in texts):
                raise OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            if any("DIE" in t for t in texts):
                raise EngineDeadError("EngineCore encountered an issue.\\nSee the stack trace above.")
            if any("TOO LONG" in t for t in texts):
                raise ValueError("The decoder prompt is longer than the maximum model length")
            out = []
            for p, text, sp in zip(prompts, texts, sampling_params):
                choices = []
                for i in range(sp.n):
                    digest = hashlib.sha256(f"{text}|{sp.seed}|{i}".encode())
                    reply = "reply " + digest.hexdigest()[:8]
                    lp = ([{ord(c): Logprob(-0.5, 1, c), 0: Logprob(-2.0, 2, "?")} for c in reply]
                          if sp.logprobs else None)
                    choices.append(CompletionOutput(i, reply, [ord(c) for c in reply], "stop", lp))
                out.append(RequestOutput(list(p["prompt_token_ids"]), choices))
            return out
''').replace("FAKE_VERSION", FAKE_VERSION)


@pytest.fixture
def fake_vllm(tmp_path, monkeypatch) -> Iterator[ModuleType]:
    """The stand-in ``vllm`` package, first on ``sys.path`` with its distribution metadata."""
    root = tmp_path / "site"
    (root / "vllm").mkdir(parents=True)
    (root / "vllm" / "__init__.py").write_text(FAKE_VLLM, encoding="utf-8")
    dist = root / f"vllm-{FAKE_VERSION}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: vllm\nVersion: {FAKE_VERSION}\n")
    monkeypatch.delitem(sys.modules, "vllm", raising=False)
    monkeypatch.syspath_prepend(str(root))
    import vllm  # the stand-in

    assert vllm.__file__.startswith(str(root))
    yield vllm
    sys.modules.pop("vllm", None)


def _spec(samples: int = 4, prompts: int = 6, **target) -> dict:
    return {
        "run": {"name": "gpu", "samples": samples, "seed": 5},
        "targets": [{"name": "vllm/smol", "kind": "vllm", "model": "smol", "max_tokens": 12,
                     "system": "You are terse.", **target}],
        "probes": [{"name": "custom", "prompts": [
            {"id": f"p{i}", "text": f"Question {i}?"} for i in range(prompts)]}],
    }


def _stored_target(store_path: str) -> dict:
    with sqlite3.connect(store_path) as conn:
        (settings,) = conn.execute("SELECT settings_json FROM targets").fetchone()
    return json.loads(settings)


# -- settings, through the spec loader ---------------------------------------------------------

SPEC = """
[run]
name = "x"
samples = 3
[[targets]]
name = "g"
kind = "vllm"
{extra}
[[probes]]
name = "custom"
prompts = [ {{ id = "a", text = "hi" }} ]
"""


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "gpu.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_a_vllm_spec_validates_without_vllm_or_a_gpu(tmp_path):
    extra = "\n".join(['model = "Qwen/Qwen2.5-0.5B-Instruct"', 'dtype = "bfloat16"',
                       "max_model_len = 4096", "gpu_memory_utilization = 0.8",
                       "tensor_parallel_size = 2", "n_per_request = 200", "top_k = 20"])
    (target,) = load_spec(_write(tmp_path, SPEC.format(extra=extra))).targets
    assert isinstance(target, VllmConfig)
    assert (target.model, target.dtype, target.max_model_len, target.n_per_request) == (
        "Qwen/Qwen2.5-0.5B-Instruct", "bfloat16", 4096, 200)
    vllm_target = build_target(target)  # built, not started: nothing imported yet
    assert vllm_target.max_n == 200 and "vllm" not in sys.modules


@pytest.mark.parametrize(("extra", "expected"), [
    ("", "gpu.toml: targets[0].model: required field is missing"),
    ('model = ""', "targets[0].model: String should have at least 1 character"),
    ('model = "m"\ngpu_memory_utilization = 1.5',
     "targets[0].gpu_memory_utilization: Input should be less than or equal to 1"),
    ('model = "m"\ntensor_parallel_size = 0',
     "targets[0].tensor_parallel_size: Input should be greater than or equal to 1"),
    ('model = "m"\nmax_model_len = 8', "targets[0].max_model_len: Input should be greater than"),
    ('model = "m"\nn_per_request = 0', "targets[0].n_per_request: Input should be greater than"),
    ('model = "m"\ndtype = "fp7"', "targets[0].dtype: Input should be 'auto'"),
    ('model = "m"\ngpu_memory_utilisation = 0.5', "targets[0].gpu_memory_utilisation: unknown field"),
    ('model = "m"\nbase_url = "http://127.0.0.1:8000/v1"', "targets[0].base_url: unknown field"),
])
def test_bad_vllm_settings_are_one_line_errors_with_the_field(tmp_path, extra, expected):
    with pytest.raises(SpecError) as err:
        load_spec(_write(tmp_path, SPEC.format(extra=extra)))
    assert expected in str(err.value)
    assert "\n" not in str(err.value)


def test_target_option_names_a_hub_model_or_a_folder():
    assert parse_target_option("vllm:Qwen/Qwen2.5-0.5B-Instruct", temperature=0.7) == {
        "kind": "vllm", "model": "Qwen/Qwen2.5-0.5B-Instruct",
        "name": "vllm/Qwen/Qwen2.5-0.5B-Instruct", "temperature": 0.7}
    assert parse_target_option("vllm:/models/smollm2/")["name"] == "vllm/smollm2"
    with pytest.raises(SpecError, match="give the model after a colon, e.g. vllm:MODEL"):
        parse_target_option("vllm")


def test_engine_speed_settings_may_change_on_resume_but_reply_settings_may_not():
    base = VllmConfig(name="g", model="m")
    faster = VllmConfig(name="g", model="m", gpu_memory_utilization=0.5, tensor_parallel_size=2,
                        concurrency=4, n_per_request=8, batch_window_ms=0, enforce_eager=True)
    assert faster.settings_hash() == base.settings_hash()
    for other in ({"temperature": 0.5}, {"dtype": "float16"}, {"max_model_len": 1024},
                  {"model": "m2"}, {"top_k": 5}):
        assert VllmConfig(**{"name": "g", "model": "m", **other}).settings_hash() != base.settings_hash()


# -- without vLLM ------------------------------------------------------------------------------

async def test_missing_vllm_is_one_line_naming_the_extra_and_the_gpu(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # as if not installed
    target = VllmTarget(VllmConfig(name="g", model="m"))
    with pytest.raises(MissingDependencyError) as err:
        await target.start()
    message = str(err.value)
    assert "pip install 'levelhead[vllm]'" in message and "GPU" in message and "\n" not in message
    await target.close()


def test_a_run_without_vllm_says_so_and_leaves_the_work_for_a_resume(monkeypatch, store_path):
    monkeypatch.setitem(sys.modules, "vllm", None)
    report = run_audit(spec_from_dict(_spec()), open_store(store_path))
    assert not report.complete and report.sampled == 0
    assert "pip install 'levelhead[vllm]'" in report.failed_targets["vllm/smol"]
    assert _stored_target(store_path)["engine"]["version"] is None


def test_the_cli_prints_the_missing_vllm_line(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "vllm", None)
    path = _write(tmp_path, SPEC.format(extra='model = "m"'))
    result = CliRunner().invoke(cli, ["--store", str(tmp_path / "s.db"), "run", str(path)])
    assert result.exit_code != 0
    assert "pip install 'levelhead[vllm]'" in result.output


# -- the glue, against the stand-in engine -----------------------------------------------------

def test_a_run_asks_for_n_seeded_samples_per_prompt_in_batched_generate_calls(fake_vllm, store_path):
    report = run_audit(spec_from_dict(_spec(samples=4, prompts=6)), open_store(store_path))
    assert report.complete and report.errors == 0 and report.sampled == 24
    samples = list(open_store(store_path).iter_samples(report.run_id))
    assert len(samples) == 24
    by_prompt: dict[str, list] = {}
    for s in samples:
        by_prompt.setdefault(s.prompt_id, []).append(s)
    assert all(sorted(s.sample_index for s in v) == [0, 1, 2, 3] for v in by_prompt.values())
    assert all(s.text.startswith("reply ") and s.finish_reason == "stop" for s in samples)
    assert all(s.completion_tokens == len(s.text) for s in samples)
    assert len({s.text for s in by_prompt["p0"]}) == 4  # N distinct samples, not one repeated

    (engine_args,) = fake_vllm.CALLS["llm"]
    assert engine_args["model"] == "smol" and engine_args["enable_prefix_caching"] is True
    assert "seed" in engine_args
    calls = fake_vllm.CALLS["generate"]
    requests = [r for call in calls for r in call]
    # One request per prompt, n = 4, the seed of its first sample, the chat template applied.
    assert len(requests) == 6 and all(n == 4 for _, n, _, _, _ in requests)
    for text, _, seed, temperature, max_tokens in requests:
        prompt_id = "p" + text.split("Question ")[1].split("?")[0]
        assert seed == sample_seed(5, "vllm/smol", "custom", prompt_id, 0)
        assert text.startswith("<s><system>You are terse.<user>Question ")
        assert text.endswith("<assistant>") and temperature == 1.0 and max_tokens == 12
    # The runner's concurrent prompts reached the engine together, in fewer generate calls.
    assert len(calls) < 6 and max(len(c) for c in calls) > 1
    assert len(fake_vllm.CALLS["threads"]) == 1  # one thread calls the engine


def test_the_run_records_the_engine_version_and_arguments(fake_vllm, store_path):
    run_audit(spec_from_dict(_spec(samples=2, prompts=1, dtype="bfloat16")), open_store(store_path))
    stored = _stored_target(store_path)
    assert stored["engine"]["name"] == "vllm" and stored["engine"]["version"] == FAKE_VERSION
    assert stored["engine"]["args"] == fake_vllm.CALLS["llm"][0]
    assert stored["engine"]["args"]["dtype"] == "bfloat16" and stored["model"] == "smol"


def test_a_resume_asks_only_for_the_missing_samples(fake_vllm, store_path):
    first = run_audit(spec_from_dict(_spec(samples=2, prompts=3)), open_store(store_path))
    assert first.complete and first.sampled == 6
    before = len(fake_vllm.CALLS["generate"])
    # Raise N (a resume may), with other engine speed settings: only samples 2..4 are asked for.
    second = run_audit(spec_from_dict(_spec(samples=5, prompts=3, gpu_memory_utilization=0.7)),
                       open_store(store_path))
    assert second.resumed and second.complete and second.sampled == 9
    requests = [r for call in fake_vllm.CALLS["generate"][before:] for r in call]
    assert len(requests) == 3 and all(n == 3 for _, n, _, _, _ in requests)
    for text, _, seed, _, _ in requests:
        prompt_id = "p" + text.split("Question ")[1].split("?")[0]
        assert seed == sample_seed(5, "vllm/smol", "custom", prompt_id, 2)
    samples = list(open_store(store_path).iter_samples(second.run_id))
    assert sorted((s.prompt_id, s.sample_index) for s in samples) == [
        (f"p{i}", k) for i in range(3) for k in range(5)]


def test_n_above_n_per_request_is_split_into_several_requests(fake_vllm, store_path):
    report = run_audit(spec_from_dict(_spec(samples=5, prompts=1, n_per_request=2)),
                       open_store(store_path))
    assert report.complete and report.sampled == 5
    ns = sorted(n for call in fake_vllm.CALLS["generate"] for _, n, _, _, _ in call)
    assert ns == [1, 2, 2]


def test_targets_with_the_same_engine_settings_share_one_engine(fake_vllm, store_path):
    spec = _spec(samples=2, prompts=2)
    spec["targets"].append({**spec["targets"][0], "name": "vllm/smol-cold", "temperature": 0.2})
    report = run_audit(spec_from_dict(spec), open_store(store_path))
    assert report.complete and report.sampled == 8
    assert len(fake_vllm.CALLS["llm"]) == 1
    temperatures = {t for call in fake_vllm.CALLS["generate"] for _, _, _, t, _ in call}
    assert temperatures == {1.0, 0.2}


# -- errors, mapped to levelhead's target errors ------------------------------------------------

async def _started(**settings) -> VllmTarget:
    target = VllmTarget(VllmConfig(name="g", model="smol", **settings))
    await target.start()
    return target


async def test_out_of_gpu_memory_is_fatal_with_what_to_lower(fake_vllm):
    target = await _started()
    with pytest.raises(FatalTargetError, match=r"ran out of memory.*lower concurrency"):
        await target.complete([{"role": "user", "content": "OOM please"}], n=2, seed=1)
    await target.close()


async def test_one_bad_conversation_fails_alone_not_its_whole_batch(fake_vllm):
    target = await _started()
    good, bad, no_system = await asyncio.gather(
        target.complete([{"role": "user", "content": "fine"}], n=2, seed=1),
        target.complete([{"role": "user", "content": "TOO LONG"}], n=2, seed=2),
        target.complete([{"role": "system", "content": "NO SYSTEM"},
                         {"role": "user", "content": "hi"}], n=1, seed=3),
        return_exceptions=True)
    assert isinstance(good, list) and len(good) == 2
    assert isinstance(bad, FatalTargetError) and "longer than the maximum model length" in str(bad)
    assert isinstance(no_system, FatalTargetError) and "chat template failed" in str(no_system)
    assert len(fake_vllm.CALLS["generate"][0]) == 2  # the two templated requests went together
    await target.close()


async def test_a_dead_engine_is_unreachable_and_the_next_start_loads_a_new_one(fake_vllm):
    target = await _started()
    with pytest.raises(TargetUnreachableError) as err:
        await target.complete([{"role": "user", "content": "DIE"}], n=1, seed=1)
    assert "the vLLM engine stopped" in str(err.value) and "\n" not in str(err.value)
    await target.close()
    again = await _started()
    assert len(fake_vllm.CALLS["llm"]) == 2
    await again.close()


async def test_an_engine_that_cannot_load_is_unreachable_with_advice(fake_vllm):
    target = VllmTarget(VllmConfig(name="g", model="too-big"))
    with pytest.raises(TargetUnreachableError, match=r"cannot load too-big.*not enough GPU memory"):
        await target.start()


async def test_invalid_sampling_settings_are_fatal(fake_vllm):
    target = await _started()
    with pytest.raises(FatalTargetError, match="refused the sampling settings"):
        await target.complete([{"role": "user", "content": "hi"}], n=0)
    await target.close()


async def test_logprobs_are_asked_for_and_returned(fake_vllm):
    target = await _started()
    (reply,) = await target.complete([{"role": "user", "content": "hi"}], n=1, seed=4,
                                     options={"logprobs": 2})
    assert reply.logprobs is not None and len(reply.logprobs) == len(reply.text)
    first = reply.logprobs[0]
    assert first.token == reply.text[0] and first.logprob == -0.5 and first.top[1] == ("?", -2.0)
    await target.close()


def test_greedy_sampling_asks_one_sample_per_request(fake_vllm, store_path):
    report = run_audit(spec_from_dict(_spec(samples=3, prompts=1, temperature=0)),
                       open_store(store_path))
    assert report.complete and report.sampled == 3
    assert [n for call in fake_vllm.CALLS["generate"] for _, n, _, _, _ in call] == [1, 1, 1]
