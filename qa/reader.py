"""The reader: a small span model that reads a question against short windows of text.

It is all-MiniLM-L6-v2's encoder with two heads, trained by `qa train-reader`
(qa/training.py) on SQuAD v1.1: a span head (start and end logits per token) and an
answerability head (one logit on [CLS]: is the answer in this window at all?).

    reader = load_reader()
    [span] = reader.read("When was it closed?", ["The embassy was closed in August 2021."])
    span.text == "August 2021"; span.start, span.end index into the window's text

The model ships in the repository (`models/reader/`) and loads offline with its tokenizer.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.errors import QAError

if TYPE_CHECKING:
    import torch

MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "reader"
WEIGHTS = "model.safetensors"
MAX_PARTS = 4  # overlapping parts read of one window too long for the input
READER_CONFIG = "reader.json"  # max_length, max_answer_tokens, thresholds chosen on dev articles


@dataclass(frozen=True, slots=True)
class ReadSpan:
    """The reader's best answer in one window, with character offsets into that window."""

    window: int  # index of the window in the list given to read()
    start: int
    end: int
    text: str  # == windows[window][start:end]
    span_score: float  # start logit + end logit of the best span
    null_score: float  # start logit + end logit of [CLS]: "not in this window"
    answerable: float  # the answerability head's probability that the window holds the answer


def build_model(encoder_path: str) -> Any:
    """A fresh reader: the encoder at `encoder_path` with untrained span and answerability heads."""
    from transformers import AutoModel

    return _heads(AutoModel.from_pretrained(encoder_path))


def _heads(encoder: Any) -> Any:
    from torch import nn

    class ReaderModel(nn.Module):
        def __init__(self, encoder: Any) -> None:
            super().__init__()
            self.encoder = encoder
            hidden = encoder.config.hidden_size
            self.span = nn.Linear(hidden, 2)
            self.answerable = nn.Linear(hidden, 1)

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: Any
        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            states = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            logits = self.span(states)
            start, end = logits[..., 0], logits[..., 1]
            return start, end, self.answerable(states[:, 0]).squeeze(-1)

    return ReaderModel(encoder)


class Reader:
    """A loaded reader model with its tokenizer; `read` is safe to call from several threads."""

    def __init__(self, folder: str | Path = MODEL_DIR, *, threads: int | None = None) -> None:
        folder = Path(folder)
        if not (folder / WEIGHTS).is_file():
            raise QAError(
                f"The reader model is missing from {folder}. It ships with qa in "
                "models/reader/; reinstall qa, or train one with `qa train-reader`."
            )
        import torch
        from safetensors.torch import load_file
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        settings = json.loads((folder / READER_CONFIG).read_text(encoding="utf-8"))
        self.folder = folder
        self.max_length: int = int(settings["max_length"])
        self.max_answer_tokens: int = int(settings.get("max_answer_tokens", 30))
        self.thresholds: dict[str, float] = dict(settings.get("thresholds", {}))
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
        encoder = AutoModel.from_config(AutoConfig.from_pretrained(str(folder)))
        model = _heads(encoder)
        state = {k: v.float() for k, v in load_file(str(folder / WEIGHTS)).items()}
        model.load_state_dict(state)
        model.eval()
        if threads:
            torch.set_num_threads(threads)
        self.model = model
        # bfloat16 runs the encoder about 1.4x faster where the CPU computes it natively
        # (AMX / AVX-512 BF16), with the same answers to three decimals; elsewhere fp32.
        self.bf16 = _native_bf16()
        self._lock = threading.Lock()

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """How many tokens each text takes, without the special tokens."""
        if not texts:
            return []
        ids = self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [len(i) for i in ids]

    def clip_question(self, question: str) -> str:
        """The question's first `max_length // 2` tokens: the rest of the input is the window."""
        limit = self.max_length // 2
        offsets = self.tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)[
            "offset_mapping"
        ]
        return question if len(offsets) <= limit else question[: offsets[limit - 1][1]]

    def read(self, question: str, windows: Sequence[str]) -> list[ReadSpan]:
        """The best span in each window (same order), or [] when there are no windows."""
        if not windows:
            return []
        import torch

        question = self.clip_question(question)
        # A window longer than the input (one very long sentence) is read in overlapping
        # parts, at most MAX_PARTS of them, and its best part speaks for it.
        encoded = self.tokenizer(
            [question] * len(windows),
            list(windows),
            truncation="only_second",
            max_length=self.max_length,
            stride=self.max_length // 4,
            return_overflowing_tokens=True,
            padding=True,
            return_offsets_mapping=True,
            return_tensors="pt",
        )
        owners = encoded.pop("overflow_to_sample_mapping").tolist()
        parts = [n for n, owner in enumerate(owners) if owners[: n + 1].count(owner) <= MAX_PARTS]
        offsets = encoded.pop("offset_mapping").tolist()
        sequence_ids = [encoded.sequence_ids(n) for n in range(len(owners))]
        inputs = {key: value[parts] for key, value in encoded.items()}
        with (
            self._lock,
            torch.inference_mode(),
            torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16),
        ):
            start, end, answerable = self.model(**inputs)
        start, end, answerable = start.float(), end.float(), answerable.float()
        best: dict[int, ReadSpan] = {}
        for row, n in enumerate(parts):
            i = owners[n]
            span = self._best_span(
                i,
                windows[i],
                start[row],
                end[row],
                float(answerable[row]),
                offsets[n],
                sequence_ids[n],
            )
            if i not in best or (span.answerable, span.span_score) > (
                best[i].answerable,
                best[i].span_score,
            ):
                best[i] = span
        return [best[i] for i in range(len(windows))]

    def _best_span(
        self,
        i: int,
        window: str,
        start: torch.Tensor,
        end: torch.Tensor,
        answerable_logit: float,
        offsets: list[list[int]],
        sequence_ids: list[int | None],
    ) -> ReadSpan:
        import torch

        context = torch.tensor([s == 1 for s in sequence_ids])
        null = float(start[0] + end[0])
        masked_start = start.masked_fill(~context, -1e4)
        masked_end = end.masked_fill(~context, -1e4)
        # score[s, e] = start[s] + end[e] for s <= e < s + max_answer_tokens
        scores = masked_start[:, None] + masked_end[None, :]
        n = scores.shape[0]
        allowed = torch.ones(n, n, dtype=torch.bool).triu() & ~torch.ones(
            n, n, dtype=torch.bool
        ).triu(self.max_answer_tokens)
        scores = scores.masked_fill(~allowed, -1e4)
        best = int(scores.argmax())
        s, e = divmod(best, n)
        char_start, char_end = offsets[s][0], offsets[e][1]
        return ReadSpan(
            window=i,
            start=char_start,
            end=char_end,
            text=window[char_start:char_end],
            span_score=float(scores[s, e]),
            null_score=null,
            answerable=float(torch.sigmoid(torch.tensor(answerable_logit))),
        )


def _native_bf16() -> bool:
    import torch

    if os.environ.get("QA_READER_FP32"):
        return False
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


_readers: dict[str, Reader] = {}
_readers_lock = threading.Lock()


def load_reader(folder: str | Path | None = None) -> Reader:
    """The reader in `folder` ($QA_READER, else the shipped one), loaded once per process."""
    path = str(folder or os.environ.get("QA_READER") or MODEL_DIR)
    with _readers_lock:
        if path not in _readers:
            _readers[path] = Reader(path)
        return _readers[path]
