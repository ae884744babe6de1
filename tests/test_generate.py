"""Written answers: checked sentence by sentence, streamed, with fallbacks (fake model), and
end to end with the real packaged model on the shipped article (slow)."""

from collections.abc import Iterator

import pytest

from qa import Index
from qa.answer import NOT_FOUND
from qa.errors import InputError
from qa.generate import FELL_BACK, WritingSettings
from qa.llm import GenerationSettings

ARTICLE = (
    "The embassy has been operating from Doha since 2021.\n\n"
    "Kazakhstan removed the Taliban from its list of banned groups.\n\n"
    "Thomas West is the special envoy for Afghanistan."
)


class ScriptedModel:
    """Writes the same reply whatever it is asked, a few characters at a time."""

    name = "scripted"

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.prompts: list[str] = []

    def stream(self, messages, settings=None) -> Iterator[str]:
        self.prompts.append(messages[-1]["content"])
        for i in range(0, len(self.reply), 7):
            yield self.reply[i : i + 7]

    def count_tokens(self, text: str) -> int:
        return len(text.split())


@pytest.fixture
def make_index(fake_embedder, write):
    def make(reply: str) -> tuple[Index, ScriptedModel]:
        model = ScriptedModel(reply)
        index = Index(embedder=fake_embedder, model=model)  # type: ignore[arg-type]
        index.add([write("article.txt", ARTICLE)])
        return index, model

    return make


def test_supported_sentences_are_kept_with_exact_citations(make_index):
    index, model = make_index("The embassy has operated from Doha since 2021 [1].")
    answer = index.ask("Where has the embassy been operating from?", mode="generate")
    assert answer.mode == "generate" and answer.answered
    assert answer.text == "The embassy has operated from Doha since 2021. [1]"
    [citation] = answer.citations
    assert citation.quote == "The embassy has been operating from Doha since 2021."
    assert citation.quote == ARTICLE[citation.start : citation.end]
    assert answer.notes == []
    report = answer.generation
    assert (report.sentences, report.kept, report.blended, report.fell_back) == (1, 1, 0, False)
    assert "[1] The embassy has been operating from Doha since 2021." in model.prompts[0]


def test_unsupported_sentences_are_removed_and_noted(make_index):
    index, _ = make_index(
        "The embassy has operated from Doha since 2021 [1]. It moved to Qatar in 2019 [1]."
    )
    answer = index.ask("Where has the embassy been operating from?", mode="generate")
    assert answer.text == "The embassy has operated from Doha since 2021. [1]"
    assert answer.notes == [
        "Removed a sentence no passage supports (no passage shares its words): "
        "“It moved to Qatar in 2019.”"
    ]
    assert (answer.generation.sentences, answer.generation.kept) == (2, 1)


def test_nothing_supported_falls_back_to_the_quoted_answer(make_index):
    index, _ = make_index("The embassy moved to Kabul in 1999 [1].")
    answer = index.ask("Where has the embassy been operating from?", mode="generate")
    extractive = index.ask("Where has the embassy been operating from?")
    assert answer.text == extractive.text and answer.citations == extractive.citations
    assert answer.notes[-1] == FELL_BACK and answer.generation.fell_back


def test_a_wrong_marker_is_corrected(make_index):
    index, _ = make_index("Thomas West is the special envoy for Afghanistan [2].")
    answer = index.ask("Who is the special envoy for Afghanistan?", mode="generate")
    assert answer.text == "Thomas West is the special envoy for Afghanistan. [1]"
    assert answer.citations[0].quote == "Thomas West is the special envoy for Afghanistan."
    assert answer.generation.misattributed == 1


def test_a_sentence_cut_off_by_the_token_limit_is_not_shown(make_index):
    index, _ = make_index("The embassy has operated from Doha since 2021 [1]. Since then the")
    # The scripted model counts words as tokens: 12 words reach a limit of 12.
    index.writing = WritingSettings(generation=GenerationSettings(max_new_tokens=12))
    answer = index.ask("Where has the embassy been operating from?", mode="generate")
    assert answer.text == "The embassy has operated from Doha since 2021. [1]"
    assert answer.notes == ["Removed an unfinished sentence: “Since then the”"]


def test_a_short_answer_without_a_full_stop_is_checked_like_any_other(make_index):
    index, _ = make_index("The answer is: Doha")
    answer = index.ask("Where has the embassy been operating from?", mode="generate")
    assert answer.text == "Doha [1]"
    assert answer.citations[0].quote == "The embassy has been operating from Doha since 2021."


def test_a_refused_question_does_not_run_the_model(make_index):
    index, model = make_index("Anything.")
    answer = index.ask("Who won the 2022 FIFA World Cup?", mode="generate")
    assert not answer.answered and answer.text == NOT_FOUND
    assert model.prompts == [] and answer.generation is None


def test_the_stream_shows_only_checked_sentences(make_index):
    index, _ = make_index(
        "It moved to Qatar in 2019 [1]. The embassy has operated from Doha since 2021 [1]."
    )
    stream = index.stream("Where has the embassy been operating from?", mode="generate")
    pieces = list(stream)
    assert pieces == ["The embassy has operated from Doha since 2021. [1]"]
    assert stream.answer is not None and "".join(pieces) == stream.answer.text


def test_an_unknown_mode_is_rejected(make_index):
    index, _ = make_index("x")
    with pytest.raises(InputError, match="mode must be one of extractive, generate"):
        index.ask("Where?", mode="poetry")


# --- the real model ---------------------------------------------------------------------


@pytest.mark.slow
def test_the_real_model_answers_the_article_with_checked_citations(article_index):
    for question in [
        "When was the US embassy in Kabul closed?",
        "Where has the US embassy in Afghanistan been operating from?",
        "Which country removed the Taliban from its list of banned organizations?",
    ]:
        stream = article_index.stream(question, mode="generate")
        pieces = list(stream)
        answer = stream.answer
        assert answer.mode == "generate" and answer.answered
        assert "".join(pieces) == answer.text
        assert answer.citations, answer.notes
        for citation in answer.citations:
            text = article_index.document(citation.source).text
            assert citation.quote == text[citation.start : citation.end]
            assert f"[{citation.n}]" in answer.text
        report = answer.generation
        assert report.model == "SmolLM2-135M-Instruct" and report.generated_tokens > 0
        # It keeps no more than it wrote, and shows its own answer only if it kept something.
        assert 0 <= report.kept <= report.sentences
        assert report.fell_back or report.kept > 0


@pytest.mark.slow
def test_the_real_model_is_not_asked_what_the_documents_do_not_hold(article_index):
    answer = article_index.ask("Who won the 2022 FIFA World Cup?", mode="generate")
    assert not answer.answered and answer.generation is None


@pytest.mark.slow
def test_the_packaged_model_is_converted_once(monkeypatch):
    from qa import llm

    folder = llm.converted_model()
    assert (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()

    def no_second_conversion(*args, **kwargs):
        raise AssertionError("converted again")

    import transformers

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", no_second_conversion)
    assert llm.converted_model() == folder


def test_a_conversion_killed_midway_leaves_no_staging_folder_behind(tmp_path):
    # kill -9 during the ~20 s conversion skips `finally`: its .tmp- folder stayed for ever.
    import os
    import time

    from qa.llm import remove_stale_staging

    killed = tmp_path / ".tmp-killed"
    (killed / "part").mkdir(parents=True)
    old = time.time() - 2 * 3600
    os.utime(killed, (old, old))
    running = tmp_path / ".tmp-running"  # a conversion under way in another process
    running.mkdir()
    model = tmp_path / "SmolLM2"
    model.mkdir()
    assert remove_stale_staging(tmp_path) == [".tmp-killed"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tmp-running", "SmolLM2"]
