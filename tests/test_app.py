"""The running app, asked through gradio_client as another program would."""

import pytest

from qa.app_runner import ROOT, running_app

pytestmark = pytest.mark.slow

ARTICLE = (ROOT / "corpus" / "taliban-and-international-diplomacy.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from gradio_client import Client

    with running_app(tmp_path_factory.mktemp("app")) as url:
        yield Client(url, verbose=False)


def test_ask_returns_the_answer_and_its_exact_citations(client):
    data = client.predict(
        "Where has the US embassy in Afghanistan been operating from?", 3, api_name="/ask"
    )
    assert data["answered"] is True
    assert "Doha" in data["text"] and "[1]" in data["text"]
    first = data["citations"][0]
    assert "operating from Doha" in first["quote"]
    assert first["source"].endswith("taliban-and-international-diplomacy.txt")
    assert ARTICLE[first["start"] : first["end"]] == first["quote"]
    assert first["location"] == f"characters {first['start']}–{first['end']}"
    assert len(data["passages"]) == 3


def test_a_written_answer_is_checked_and_cites_exact_quotes(client):
    data = client.predict(
        "When was the US embassy in Kabul closed?", 5, "generate", api_name="/ask"
    )
    assert data["mode"] == "generate" and data["answered"] is True
    assert "August 2021" in data["text"]
    for citation in data["citations"]:
        assert ARTICLE[citation["start"] : citation["end"]] == citation["quote"]
        assert f"[{citation['n']}]" in data["text"]


def test_a_question_the_article_does_not_answer_is_refused(client):
    data = client.predict("Who won the 2022 FIFA World Cup?", 5, api_name="/ask")
    assert data["answered"] is False and data["citations"] == []
    assert data["text"] == "The documents do not contain an answer to this question."


def test_a_bad_request_gets_a_clear_message_not_a_traceback(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="The question is empty"):
        client.predict("   ", 5, api_name="/ask")
    with pytest.raises(AppError, match="from 1 to 100"):
        client.predict("Where is the embassy?", 0, api_name="/ask")


def test_ask_is_the_only_public_endpoint(client):
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert list(endpoints) == ["/ask"]


def test_a_follow_up_through_the_api_is_searched_with_the_history(client):
    first = client.predict("Who is Thomas West?", 5, api_name="/ask")
    history = [
        {"role": "user", "content": "Who is Thomas West?"},
        {"role": "assistant", "content": first["text"]},
    ]
    data = client.predict(
        "What did he say about humanitarian aid?", 5, "extractive", history, api_name="/ask"
    )
    assert data["question"] == "What did he say about humanitarian aid?"
    assert data["searched"] == "What did Thomas West say about humanitarian aid?"
    assert "humanitarian supporter" in data["citations"][0]["quote"]


def test_a_follow_up_answered_by_the_next_sentence_through_the_api(client):
    first = client.predict(
        "What did Kazakhstan decide at the end of last year?", 5, api_name="/ask"
    )
    history = [
        {"role": "user", "content": "What did Kazakhstan decide at the end of last year?"},
        {"role": "assistant", "content": first["text"]},
    ]
    data = client.predict("Who announced it?", 5, "extractive", history, api_name="/ask")
    assert data["answered"] is True and data["question"] == "Who announced it?"
    assert data["searched"] != "Who announced it?"
    assert any("Aibek Smadiyarov" in c["quote"] for c in data["citations"])
    for c in data["citations"]:
        assert ARTICLE[c["start"] : c["end"]] == c["quote"]


def test_a_malformed_history_is_a_clear_error(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="history must be a list of messages"):
        client.predict("What did he say?", 5, "extractive", [{"who": "me"}], api_name="/ask")
