"""The ``vllm`` target on a real GPU: a tiny chat model through vLLM's engine, the real runner
and a real SQLite store.

Not collected by ``make test`` (its ``testpaths`` is ``tests``): this folder needs an NVIDIA GPU
and vLLM, which pulls the CUDA build of torch. On a GPU machine, run::

    make test-gpu
    # or, in an environment with levelhead installed:
    pip install -e '.[dev,vllm]' && python -m pytest tests_gpu

The model is ``$LEVELHEAD_VLLM_MODEL`` (a Hugging Face id or a model folder), by default
HuggingFaceTB/SmolLM2-135M-Instruct (about 270 MB, fetched into the Hugging Face cache on the
first run unless it is there already; set ``HF_HUB_OFFLINE=1`` and point the variable at a
folder on a machine without network). Like levelhead's other tests, these never skip: without
vLLM or a GPU they fail and say what is missing.
"""

from __future__ import annotations

import json
import os
import sqlite3

import pytest

from levelhead import open_store, run_audit, spec_from_dict

MODEL = os.environ.get("LEVELHEAD_VLLM_MODEL", "HuggingFaceTB/SmolLM2-135M-Instruct")

# vLLM, torch and transformers warn about their own deprecations; pyproject turns warnings into
# errors for levelhead's code, not for the engine under it.
pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::FutureWarning"),
              pytest.mark.filterwarnings("ignore::UserWarning"),
              pytest.mark.filterwarnings("ignore::ResourceWarning")]


@pytest.fixture(scope="module")
def vllm():
    try:
        import vllm
    except ImportError as exc:
        pytest.fail(f"these tests need vLLM ({exc}): pip install -e '.[vllm]' on a GPU machine "
                    "(or run `make test-gpu`)", pytrace=False)
    import torch

    if not torch.cuda.is_available():
        pytest.fail("these tests need an NVIDIA GPU that torch can see (torch.cuda.is_available() "
                    "is False)", pytrace=False)
    return vllm


def _spec(samples: int) -> dict:
    return spec_from_dict({
        "run": {"name": "gpu", "samples": samples, "seed": 3},
        "targets": [{"name": "vllm/tiny", "kind": "vllm", "model": MODEL, "max_tokens": 24,
                     "max_model_len": 1024, "gpu_memory_utilization": 0.4,
                     "enforce_eager": True, "system": "Answer in one short sentence."}],
        "probes": [{"name": "custom", "prompts": [
            {"id": "sky", "text": "Why is the sky blue?"},
            {"id": "tea", "text": "How do I make tea?"},
            {"id": "sky-zh", "text": "天空为什么是蓝色的？"}]}],
    })


def test_a_run_and_its_resume_on_the_real_engine(vllm, tmp_path):
    store_path = str(tmp_path / "gpu.db")
    first = run_audit(_spec(samples=4), open_store(store_path))
    assert first.complete and first.errors == 0, first.first_error or first.failed_targets
    samples = list(open_store(store_path).iter_samples(first.run_id))
    assert len(samples) == 12
    assert all(s.text and s.completion_tokens and s.completion_tokens <= 24 for s in samples)
    assert all(s.finish_reason in ("stop", "length") for s in samples)
    assert all(s.prompt_tokens and s.prompt_tokens > 5 for s in samples)
    # Sampled at temperature 1: the N samples of a prompt are not one reply repeated.
    assert len({s.text for s in samples if s.prompt_id == "sky"}) > 1

    with sqlite3.connect(store_path) as conn:
        (settings,) = conn.execute("SELECT settings_json FROM targets").fetchone()
    engine = json.loads(settings)["engine"]
    assert engine["version"] == vllm.__version__
    assert engine["args"]["enable_prefix_caching"] is True and engine["args"]["model"] == MODEL

    # A resume with a higher N samples only what is missing, on the engine already loaded.
    second = run_audit(_spec(samples=6), open_store(store_path))
    assert second.resumed and second.complete and second.sampled == 6
    assert len(list(open_store(store_path).iter_samples(second.run_id))) == 18
