"""A Hugging Face text-classification model exported to ONNX, read from a local directory.

The model runs on ``onnxruntime`` (its CPU wheel on PyPI) with the ``tokenizers`` package for the
fast tokenizer: never ``torch`` or ``transformers``, whose default Linux wheels pull several GB of
CUDA packages. A directory holds what ``optimum-cli export onnx --task text-classification``
writes: ``config.json`` (the labels), ``tokenizer.json`` and ``model.onnx`` (or
``onnx/model.onnx``, as many hub repositories ship it). ``config.json`` is read without either
package, so that a misspelt label is reported before any import; the session loads on first use.
Nothing is ever downloaded.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import threading
from pathlib import Path
from typing import Any

from levelhead.errors import MissingDependencyError, SpecError
from levelhead.registry import did_you_mean

__all__ = ["ONNX_HINT", "OnnxTextClassifier", "check_bad_labels", "find_model_files", "model_labels",
           "require_runtime"]

ONNX_HINT = "pip install 'levelhead[classifiers]' (onnxruntime and tokenizers: CPU wheels, no torch)"
EXPORT_HINT = ("export the model with `optimum-cli export onnx --task text-classification --model DIR OUT` "
               "on a machine that has torch, and give OUT")

#: Used when neither tokenizer_config.json nor config.json bounds the input length.
_DEFAULT_MAX_TOKENS = 512
#: tokenizer_config.json says 10**30 for "no limit"; past this the figure is not a real bound.
_SANE_MAX_TOKENS = 100_000


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
            f"levelhead never downloads models: {EXPORT_HINT}"
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


def find_model_files(path: Path, *, judge: str) -> tuple[Path, Path]:
    """The directory's ``model.onnx`` (or ``onnx/model.onnx``) and its ``tokenizer.json``.

    Raises:
        SpecError: either file is missing, with the command that makes them.
    """
    model = next((p for p in (path / "model.onnx", path / "onnx" / "model.onnx") if p.is_file()), None)
    if model is None:
        found = ", ".join(sorted(p.name for p in path.iterdir())[:8]) or "nothing"
        raise SpecError(
            f"{judge}: path: no model.onnx in '{path}' (found {found}); classifier.hf runs ONNX "
            f"models only (torch weights are not read): {EXPORT_HINT}"
        )
    tokenizer = path / "tokenizer.json"
    if not tokenizer.is_file():
        raise SpecError(
            f"{judge}: path: no tokenizer.json in '{path}': save the model's fast tokenizer there "
            "(AutoTokenizer.from_pretrained(...).save_pretrained(DIR) writes it; the ONNX export does too)"
        )
    return model, tokenizer


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


def require_runtime(*, judge: str) -> None:
    """Check, without importing them, that onnxruntime and tokenizers are installed.

    Raises:
        MissingDependencyError: with the pip command.
    """
    for module in ("onnxruntime", "tokenizers"):
        try:
            absent = importlib.util.find_spec(module) is None
        except (ImportError, ValueError):
            absent = True
        if absent:
            raise MissingDependencyError(f"{judge} needs {module}, which is not installed: {ONNX_HINT}")


def _max_tokens(path: Path) -> int:
    """The longest input the model takes, from the files the export leaves beside it."""
    for name, key in (("tokenizer_config.json", "model_max_length"),
                      ("config.json", "max_position_embeddings")):
        try:
            value = json.loads((path / name).read_text(encoding="utf-8")).get(key)
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(value, int) and 0 < value <= _SANE_MAX_TOKENS:
            return min(value, _DEFAULT_MAX_TOKENS) if key == "max_position_embeddings" else value
    return _DEFAULT_MAX_TOKENS


def _pad_token(path: Path, tokenizer: Any) -> tuple[int, str]:
    """The padding token: the tokenizer config's, else a usual name the vocabulary has, else id 0.

    Its value hardly matters (the attention mask hides it), but it must be in the vocabulary.
    """
    named = None
    with contextlib.suppress(OSError, ValueError, AttributeError):  # no such file: the usual names
        named = json.loads((path / "tokenizer_config.json").read_text(encoding="utf-8")).get("pad_token")
    if isinstance(named, dict):  # {"content": "<pad>", ...} in older exports
        named = named.get("content")
    for token in (named, "[PAD]", "<pad>", "<|endoftext|>"):
        if isinstance(token, str) and tokenizer.token_to_id(token) is not None:
            return int(tokenizer.token_to_id(token)), token
    return 0, tokenizer.id_to_token(0) or "[PAD]"


class OnnxTextClassifier:
    """The probability of the bad labels from a text-classification model exported to ONNX.

    For a model whose labels exclude each other (softmax), the probability is the sum of the
    bad labels' probabilities; for a multi-label model (a sigmoid each), the largest of them.
    Replies longer than the model's input are truncated; a batch is padded to its longest reply
    and the attention mask keeps padding out of the result, so a reply scores the same alone or
    in any batch.

    Args:
        path: the model directory (``config.json``, ``tokenizer.json``, ``model.onnx``).
        bad_labels: the model's labels that mean abusive.
        batch_size: texts per forward pass.
        judge: the judge's name, for messages.

    Raises:
        SpecError: a file is missing, or the model does not fit its labels or inputs.
        MissingDependencyError: onnxruntime or tokenizers cannot be imported.
    """

    name = "onnx"

    def __init__(self, path: Path, bad_labels: tuple[str, ...], *, batch_size: int, judge: str) -> None:
        labels, self._multi = model_labels(path, judge=judge)
        check_bad_labels(bad_labels, labels, judge=judge)
        model_file, tokenizer_file = find_model_files(path, judge=judge)
        require_runtime(judge=judge)
        try:
            import numpy as np
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise MissingDependencyError(
                f"{judge} could not import its runtime ({exc}): {ONNX_HINT}") from exc
        self._np = np
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        if self._tokenizer.truncation is None:
            self._tokenizer.enable_truncation(max_length=_max_tokens(path))
        if self._tokenizer.padding is None:
            pad_id, pad_token = _pad_token(path, self._tokenizer)
            self._tokenizer.enable_padding(pad_id=pad_id, pad_token=pad_token)
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only: its warnings about unused initialisers are noise
        try:
            self._session = onnxruntime.InferenceSession(str(model_file), options,
                                                         providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own classes for a corrupt or foreign file
            raise SpecError(f"{judge}: path: onnxruntime cannot load '{model_file}': {exc}") from exc
        self._inputs = {i.name: i.type for i in self._session.get_inputs()}
        unknown = set(self._inputs) - {"input_ids", "attention_mask", "token_type_ids"}
        if "input_ids" not in self._inputs or unknown:
            raise SpecError(f"{judge}: path: '{model_file}' takes inputs {sorted(self._inputs)}; a text-"
                            "classification export takes input_ids, attention_mask and maybe token_type_ids")
        outputs = [o.name for o in self._session.get_outputs()]
        self._output = "logits" if "logits" in outputs else outputs[0]
        self._bad = [i for i, label in enumerate(labels) if label in bad_labels]
        self._labels = len(labels)
        self._batch_size = batch_size
        self._judge = judge
        # tokenizers raises "Already borrowed" when two threads use one tokenizer at once.
        self._lock = threading.Lock()
        self.version = f"onnxruntime {onnxruntime.__version__}"

    def predict(self, texts: list[str]) -> list[float]:
        """The probability that each text carries one of the bad labels."""
        out: list[float] = []
        for start in range(0, len(texts), self._batch_size):
            out.extend(self._predict_batch(texts[start:start + self._batch_size]))
        return out

    def _predict_batch(self, texts: list[str]) -> list[float]:
        np = self._np
        with self._lock:
            encodings = self._tokenizer.encode_batch(list(texts))
        columns = {"input_ids": [e.ids for e in encodings],
                   "attention_mask": [e.attention_mask for e in encodings],
                   "token_type_ids": [e.type_ids for e in encodings]}
        feed = {name: np.asarray(columns[name], dtype=np.int32 if kind == "tensor(int32)" else np.int64)
                for name, kind in self._inputs.items()}
        logits = np.asarray(self._session.run([self._output], feed)[0], dtype=np.float64)
        if logits.ndim != 2 or logits.shape != (len(texts), self._labels):
            raise SpecError(f"{self._judge}: the model gives scores of shape {logits.shape} for "
                            f"{len(texts)} texts, but config.json names {self._labels} labels")
        if self._multi:
            p = (1.0 / (1.0 + np.exp(-logits[:, self._bad]))).max(axis=1)
        else:
            shifted = np.exp(logits - logits.max(axis=1, keepdims=True))  # no overflow for large logits
            p = shifted[:, self._bad].sum(axis=1) / shifted.sum(axis=1)
        return [min(1.0, max(0.0, float(x))) for x in p]
