"""A Hugging Face sequence-classification model read from a local directory, never the hub.

``transformers`` and ``torch`` are imported only when the model is loaded. The directory's
``config.json`` is read without them, so that a misspelt label is reported before any heavy
import. Remote code is never trusted (``trust_remote_code=False``).
"""

from __future__ import annotations

import importlib.util
import json
import threading
from pathlib import Path
from typing import Any

from levelhead.errors import MissingDependencyError, SpecError
from levelhead.registry import did_you_mean

__all__ = ["HF_HINT", "HuggingFaceClassifier", "check_bad_labels", "model_labels", "require_transformers"]

HF_HINT = "pip install transformers torch (a CPU-only torch build is enough)"


def model_labels(path: Path, *, judge: str) -> tuple[tuple[str, ...], bool]:
    """The labels a local model directory declares, and whether they are independent
    (multi-label: a sigmoid per label) rather than exclusive (a softmax over them).

    Raises:
        SpecError: the path is not a model directory with a readable ``config.json``.
    """
    config_file = path / "config.json"
    if not config_file.is_file():
        raise SpecError(
            f"{judge}: path: '{path}' is not a local model directory (no config.json there); "
            "levelhead never downloads models: give a directory saved with save_pretrained"
        )
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
        id2label = config.get("id2label") or {
            str(i): f"LABEL_{i}" for i in range(int(config.get("num_labels", 2)))
        }
        labels = tuple(str(id2label[k]) for k in sorted(id2label, key=int))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SpecError(f"{judge}: path: cannot read the labels of '{config_file}': {exc}") from exc
    multi = config.get("problem_type") == "multi_label_classification" or len(labels) == 1
    return labels, multi


def check_bad_labels(bad_labels: tuple[str, ...], labels: tuple[str, ...], *, judge: str) -> None:
    """Reject a bad label the model does not have, with the nearest one it has.

    Raises:
        SpecError: naming the label and suggesting another.
    """
    for label in bad_labels:
        if label not in labels:
            raise SpecError(
                f"{judge}: bad_labels: the model has no label '{label}'; "
                f"{did_you_mean(label, list(labels))}"
            )


def require_transformers(*, judge: str) -> None:
    """Check, without importing them, that transformers and torch are installed.

    Raises:
        MissingDependencyError: with the pip command.
    """
    for module in ("transformers", "torch"):
        try:
            absent = importlib.util.find_spec(module) is None
        except (ImportError, ValueError):
            absent = True
        if absent:
            raise MissingDependencyError(f"{judge} needs {module}, which is not installed: {HF_HINT}")


class HuggingFaceClassifier:
    """The probability of the bad labels from a local text-classification model.

    For a model whose labels exclude each other (softmax), the probability is the sum of the
    bad labels' probabilities; for a multi-label model (a sigmoid each), the largest of them.

    Args:
        path: the model directory (``config.json``, tokenizer files, weights).
        bad_labels: the model's labels that mean abusive.
        device: where torch runs it (``cpu``, ``cuda:0`` ...).
        batch_size: texts per forward pass.
        judge: the judge's name, for messages.
    """

    name = "hf"

    def __init__(self, path: Path, bad_labels: tuple[str, ...], *, device: str, batch_size: int,
                 judge: str) -> None:
        labels, self._multi = model_labels(path, judge=judge)
        check_bad_labels(bad_labels, labels, judge=judge)
        require_transformers(judge=judge)
        try:
            import transformers
        except ImportError as exc:
            raise MissingDependencyError(f"{judge} could not import transformers ({exc}): {HF_HINT}") from exc
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        model = transformers.AutoModelForSequenceClassification.from_pretrained(
            str(path), local_files_only=True, trust_remote_code=False
        )
        self._pipe = transformers.pipeline(
            "text-classification", model=model, tokenizer=tokenizer, device=device, top_k=None,
            function_to_apply="sigmoid" if self._multi else "softmax",
        )
        self._bad = frozenset(bad_labels)
        self._batch_size = batch_size
        # A fast tokenizer raises "Already borrowed" when two threads use it at once.
        self._lock = threading.Lock()
        self.version = f"transformers {transformers.__version__}"

    def predict(self, texts: list[str]) -> list[float]:
        """The probability that each text carries one of the bad labels."""
        if not texts:
            return []
        with self._lock:
            results: list[Any] = self._pipe(list(texts), batch_size=self._batch_size, truncation=True)
        out = []
        for scores in results:
            if isinstance(scores, dict):  # some versions return a bare dict for one label
                scores = [scores]
            bad = [float(s["score"]) for s in scores if s["label"] in self._bad]
            p = (max(bad) if self._multi else sum(bad)) if bad else 0.0
            out.append(min(1.0, max(0.0, p)))
        return out
