"""Questions about a whole document: a summary of its central sentences, or its byline."""

import pytest

from qa import Conversation
from qa.overview import overview_kind


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("What is this article about?", "summary"),
        ("Summarize the article.", "summary"),
        ("What are the main points?", "summary"),
        ("What does the author recommend?", "summary"),
        ("Who is the author?", "author"),
        ("Who wrote this article?", "author"),
        # Questions about something in a document are asked as any other.
        ("Who wrote the letter to the UN?", None),
        ("Who is the author of the Doha agreement?", None),
        ("What is the main goal of the United States?", None),
        ("Where has the embassy been operating from?", None),
        ("What is it about the mine that is unusual?", None),  # from SQuAD: none of its
        ("Who wrote the book Elements?", None),  # 87,599 training questions is taken
        ("Summarize harbour.txt", "summary"),  # a file's name says which document
    ],
)
def test_whole_document_questions_are_told_from_questions_about_its_content(question, kind):
    assert overview_kind(question) == kind


@pytest.mark.slow
@pytest.mark.parametrize(
    "question",
    [
        "What is this article about?",
        "Summarize the article.",
        "What does the author recommend?",
        "What are the main points?",
    ],
)
def test_the_article_is_summarized_by_its_central_sentences_in_order(article_index, question):
    # These were refused: no passage matches "about" or "summarize".
    answer = article_index.ask(question)
    assert answer.answered and 2 <= len(answer.citations) <= 3
    text = article_index.document(answer.citations[0].source).text
    starts = [c.start for c in answer.citations]
    assert starts == sorted(starts)  # in the document's order
    for c in answer.citations:
        assert text[c.start : c.end] == c.quote and f"[{c.n}]" in answer.text
        assert c.quote.rstrip()[-1] in ".”"  # sentences of running text, never the title line
    quoted = " ".join(c.quote for c in answer.citations)
    assert "Taliban" in quoted
    assert len({c.quote for c in answer.citations}) == len(answer.citations)


@pytest.mark.slow
@pytest.mark.parametrize("question", ["Who is the author?", "Who wrote this article?"])
def test_the_author_is_named_from_the_byline(article_index, question):
    answer = article_index.ask(question)
    assert answer.answered and answer.short == "Georgi Asatryan"
    [citation] = answer.citations
    text = article_index.document(citation.source).text
    assert text[citation.short_start : citation.short_end] == "Georgi Asatryan"
    assert "associate professor" in citation.quote


def test_with_several_documents_the_question_must_say_which(conversation_index):
    answer = conversation_index.ask("What is this article about?")
    assert not answer.answered and not answer.citations
    assert "Which document do you mean?" in answer.text
    assert "docs/decision.txt" in answer.text and "docs/harbour.txt" in answer.text
    named = conversation_index.ask("Summarize harbour.txt")
    assert named.answered and {c.source for c in named.citations} == {"docs/harbour.txt"}


def test_in_a_conversation_the_article_is_the_one_last_cited(conversation_index):
    chat = Conversation(conversation_index)
    first = chat.ask("Who runs the harbour office of Ulmbridge?")
    assert first.citations[0].source == "docs/harbour.txt"
    summary = chat.ask("Summarize the article.")
    assert summary.answered and {c.source for c in summary.citations} == {"docs/harbour.txt"}
