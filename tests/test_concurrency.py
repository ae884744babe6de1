"""Many threads asking at once, and asking while documents are added: no errors, no mix-ups."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from qa import Index, build_index, load_index
from qa.article_questions import ARTICLE_QUESTIONS

pytestmark = pytest.mark.slow


def test_32_threads_asking_at_once_each_get_their_own_answer(article_index):
    barrier = threading.Barrier(32)
    results: list[tuple[str, str, object]] = []
    errors: list[BaseException] = []

    def asker(offset: int) -> None:
        try:
            barrier.wait()  # all 32 start together
            for i in range(4):
                question, expected = ARTICLE_QUESTIONS[(offset + i) % len(ARTICLE_QUESTIONS)]
                results.append((question, expected, article_index.ask(question)))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=asker, args=(n,)) for n in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert errors == [] and len(results) == 128
    for question, expected, answer in results:
        assert answer.question == question
        assert answer.answered and expected in answer.text, (question, answer.text)
        for c in answer.citations:
            assert c.quote == article_index.document(c.source).text[c.start : c.end]


def test_asking_while_documents_are_added_and_removed(tmp_path, write, real_embedder):
    from tests_support import ARTICLE

    write("corpus/article.txt", ARTICLE.read_text(encoding="utf-8"))
    index = build_index([tmp_path / "corpus"], path=tmp_path / "idx", embedder=real_embedder)
    codes = [
        f"The harbour of Port {name} opens at {hour} o'clock every morning."
        for hour, name in enumerate(["Alder", "Birch", "Cedar", "Dogwood", "Elm", "Fir"], 5)
    ]
    files = [write(f"new/port-{i}.txt", text) for i, text in enumerate(codes)]
    errors: list[BaseException] = []
    done = threading.Event()

    def writer():
        try:
            for i, path in enumerate(files):
                index.add([path])
                if i % 2:  # remove every other one again
                    index.remove(f"port-{i - 1}.txt")
        except BaseException as error:
            errors.append(error)
        finally:
            done.set()

    def reader():
        try:
            while not done.is_set():
                for question, expected in ARTICLE_QUESTIONS[:4]:
                    answer = index.ask(question)
                    assert answer.answered and expected in answer.text, answer.text
                    assert {c.source for c in answer.citations} == {"corpus/article.txt"}
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=writer)] + [
        threading.Thread(target=reader) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert errors == []
    kept = ["corpus/article.txt", "port-1.txt", "port-3.txt", "port-5.txt"]
    for reopened in (index, load_index(tmp_path / "idx", embedder=real_embedder)):
        assert [d.source for d in reopened.documents] == kept
        answer = reopened.ask("When does the harbour of Port Dogwood open?")
        assert "8 o'clock" in answer.text and answer.citations[0].source == "port-3.txt"
        gone = reopened.ask("When does the harbour of Port Alder open?")
        assert {c.source for c in gone.citations} <= set(kept)  # never a removed document


def test_the_fake_embedder_index_is_safe_too(fake_embedder, write):
    index = Index(embedder=fake_embedder)
    index.add([write("a.txt", "The embassy has been operating from Doha since 2021.")])
    with ThreadPoolExecutor(max_workers=32) as pool:
        answers = list(
            pool.map(lambda _: index.ask("Where is the embassy operating from?"), range(64))
        )
    assert all("Doha" in a.text for a in answers)
