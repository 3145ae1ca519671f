"""The real embedded model (SmolLM2-135M via llama.cpp): short runs, no network."""

from __future__ import annotations

import pytest

from levelhead import open_store, run_audit
from levelhead.errors import TargetUnreachableError
from levelhead.spec import spec_from_dict
from levelhead.targets.local import LocalConfig, LocalTarget, default_model_path

pytestmark = pytest.mark.usefixtures("embedded_model")  # fails, never skips, without it


def _spec(**target):
    return spec_from_dict({
        "run": {"name": "local", "samples": 4, "seed": 11},
        "targets": [{"kind": "local", "max_tokens": 12, **target}],
        "probes": [{"name": "custom", "prompts": [
            {"id": "sky", "text": "Why is the sky blue?"},
            {"id": "sky-zh", "text": "天空为什么是蓝色的？"}]}],
    })


def test_default_model_file_ships_in_the_wheel():
    path = default_model_path()
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000


def test_local_run_stores_real_replies(store_path):
    report = run_audit(_spec(), open_store(store_path))
    assert report.complete and report.errors == 0
    samples = list(open_store(store_path).iter_samples(report.run_id))
    assert len(samples) == 8
    assert all(s.text and s.completion_tokens and s.completion_tokens <= 12 for s in samples)
    assert all(s.finish_reason in ("stop", "length") for s in samples)
    # Sampled at temperature 1 with distinct seeds: not one reply repeated four times.
    assert len({s.text for s in samples if s.prompt_id == "sky"}) > 1


def test_same_seed_same_reply(store_path, tmp_path):
    # Bit-for-bit repeats need one sequence decoded at a time: llama.cpp's batched decoding
    # of several slots at once can round differently (docs/targets.md).
    a = run_audit(_spec(temperature=0.8, parallel=1, concurrency=1), open_store(store_path))
    b = run_audit(_spec(temperature=0.8, parallel=1, concurrency=1),
                  open_store(str(tmp_path / "other.db")))
    texts_a = [s.text for s in open_store(store_path).iter_samples(a.run_id)]
    texts_b = [s.text for s in open_store(str(tmp_path / "other.db")).iter_samples(b.run_id)]
    assert texts_a == texts_b


async def test_missing_model_file_is_a_clear_error(tmp_path):
    target = LocalTarget(LocalConfig(model_path=str(tmp_path / "nope.gguf")))
    with pytest.raises(TargetUnreachableError, match="is not a file"):
        await target.start()
