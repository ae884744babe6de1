"""The chat page in a real browser (Debian's chromium, driven by Playwright), as a person uses it.

Screenshots of each step are saved in test-artifacts/screenshots/ for a person to look at.
"""

import html
import os
import shutil
from pathlib import Path

import pytest

from qa.app_runner import ROOT, running_app

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
TIMEOUT_MS = 60_000

GARDEN = (
    "The Lunar Garden Society\n\n"
    "The Lunar Garden Society was founded in 1987 by Mira Okonkwo in Tallinn. "
    "Its members grow moonflowers that open only at night.\n"
)
# Text and Markdown keep their markup as text: the page must show it, never run it.
INERT = (
    "Harbour notes\n\n"
    'The harbour beacon <script>window.__qa_ran = "script"</script> flashes green every '
    'four seconds <img src="x" onerror="window.__qa_ran = \'img\'">.\n'
)
# Watches the upload: whether the documents list shows, and what the progress says.
WATCH_UPLOAD = """() => {
  window.__qa_upload = {listed: [], progress: []};
  new MutationObserver(() => {
    const list = document.querySelector('#documents');
    const shown = !!list && list.offsetParent !== null && /taliban/.test(list.innerText);
    window.__qa_upload.listed.push(shown);
    const tracker = document.querySelector('#upload [data-testid="status-tracker"]');
    const said = tracker ? tracker.innerText.trim() : "";
    if (said) window.__qa_upload.progress.push(said);
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""
# Watches the newest answer as it grows, so the test can tell a streamed answer from a jump.
WATCH_STREAM = """() => {
  window.__qa_lengths = [];
  new MutationObserver(() => {
    const answers = document.querySelectorAll('#chat .qa-answer');
    const last = answers[answers.length - 1];
    if (last) window.__qa_lengths.push(last.textContent.length);
  }).observe(document.querySelector('#chat'), {subtree: true, childList: true,
                                                characterData: true});
}"""


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    # A 1 MB upload limit, so a test can go over it with a small file.
    env = {"QA_MAX_UPLOAD_MB": "1"}
    with running_app(tmp_path_factory.mktemp("browser-app"), env=env) as url:
        yield url


@pytest.fixture
def dialogs() -> list[str]:
    """The messages of every alert, confirm or prompt the page opened (each dismissed)."""
    return []


@pytest.fixture
def page(app_url, capsys, dialogs):
    import playwright.sync_api as playwright_api  # a dev dependency: missing is a failure

    if not CHROMIUM.exists():
        # .ci/run installs chromium: in CI its absence is a failure, not a reason to skip.
        if os.environ.get("CI"):
            pytest.fail(f"CI needs Debian's chromium at {CHROMIUM}: apt-get install chromium")
        pytest.skip("needs Debian's chromium: apt-get install chromium")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        tab = browser.new_page(viewport={"width": 1400, "height": 1000})
        tab.set_default_timeout(TIMEOUT_MS)
        outside: list[str] = []
        tab.on("request", lambda r: _local(r.url) or outside.append(r.url))
        tab.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        tab.goto(app_url)
        yield tab
        browser.close()
    assert outside == [], f"the page reached outside this machine: {outside}"
    assert dialogs == [], f"the page opened dialogs: {dialogs}"
    with capsys.disabled():
        print(f"\nScreenshots of the chat page: {SCREENSHOTS}")


def _local(url: str) -> bool:
    return url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:"))


def shot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def ask(page, question: str) -> object:
    """Type a question, press Enter, and return the finished reply (answer and sources)."""
    done = page.locator("#chat .qa-reply .qa-sources").count()
    page.fill("#question textarea", question)
    page.press("#question textarea", "Enter")
    page.locator("#chat .qa-reply .qa-sources").nth(done).wait_for()
    # The reply is complete, and Ask takes the next question.
    page.locator("#ask:not([disabled])", has_text="Ask").wait_for()
    return page.locator("#chat .qa-reply").nth(done)


def upload(page, path: Path, expected: str) -> None:
    """Upload a file and wait for the page to say what happened to it."""
    page.set_input_files("#upload input[type=file]", str(path))
    page.locator("#upload-notice", has_text=expected).wait_for()


def test_a_person_asks_follows_up_and_adds_documents(page, tmp_path):
    try:
        use_the_page(page, tmp_path)
    except BaseException:
        shot(page, "failure")  # the screen as it was when a step failed
        raise


def use_the_page(page, tmp_path: Path) -> None:
    """Every step a person takes, in order; a screenshot after each."""
    from playwright.sync_api import expect

    # The empty chat offers example questions about the shipped article.
    page.get_by_role("button", name="Who is Thomas West?").wait_for()
    page.locator("#documents", has_text="taliban-and-international-diplomacy.txt").wait_for()
    shot(page, "01-empty-chat")

    # The answer streams in, and its sources show the cited passage, the quote highlighted.
    page.evaluate(WATCH_STREAM)
    reply = ask(page, "Who is Thomas West?")
    lengths = page.evaluate("window.__qa_lengths")
    assert len(set(lengths)) >= 3 and lengths == sorted(lengths), lengths
    assert "Thomas West" in reply.locator(".qa-answer").inner_text()
    sources = reply.locator(".qa-sources")
    # The document is named once, by its file name; no card lists character ranges.
    assert sources.locator(".qa-doc").all_inner_texts() == [
        "taliban-and-international-diplomacy.txt"
    ]
    assert "characters" not in sources.inner_text() and "corpus/" not in sources.inner_text()
    source = reply.locator(".qa-source").first
    assert "Thomas West, the US special envoy" in source.locator("mark").inner_text()
    shot(page, "02-answer-with-sources")

    # A follow-up question is understood through the chat history.
    reply = ask(page, "What did he say about humanitarian aid?")
    assert "biggest humanitarian supporter" in reply.locator("mark").first.inner_text()
    assert "Thomas West" in reply.locator(".qa-note").inner_text()
    shot(page, "03-follow-up")

    # A document of one's own: uploaded, listed, and answered from.
    garden = tmp_path / "lunar garden.md"
    garden.write_text(GARDEN, encoding="utf-8")
    upload(page, garden, "Added lunar garden.md")
    page.locator("#documents", has_text="lunar garden.md").wait_for()
    reply = ask(page, "Who founded the Lunar Garden Society?")
    assert "Mira Okonkwo" in reply.locator(".qa-answer").inner_text()
    assert reply.locator(".qa-doc").first.inner_text() == "lunar garden.md"
    shot(page, "04-own-document")

    # A document holding HTML is shown as text, and nothing in it runs.
    inert = tmp_path / "harbour.md"
    inert.write_text(INERT, encoding="utf-8")
    upload(page, inert, "Added harbour.md")
    reply = ask(page, "How often does the harbour beacon flash?")
    quoted = reply.locator("mark").first.inner_text()
    assert '<script>window.__qa_ran = "script"</script>' in quoted
    assert '<img src="x" onerror="window.__qa_ran = \'img\'">' in quoted
    assert page.evaluate("window.__qa_ran") is None
    assert page.locator("#chat script, #chat img[onerror]").count() == 0
    shot(page, "05-html-shown-inert")

    # A file that cannot be read is named with its reason; the index stays as it was.
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 not really a pdf")
    upload(page, broken, "Could not add broken.pdf")
    assert "The index is unchanged." in page.locator("#upload-notice").inner_text()
    assert "broken.pdf" not in page.locator("#documents").inner_text()
    shot(page, "06-unreadable-file")

    # Removing a document.
    page.locator("#remove-section").get_by_text("Remove a document").click()
    page.locator("#remove-choice input").click()
    page.get_by_role("option", name="harbour.md").click()
    # Remove asks first; Cancel keeps the document.
    page.locator("#remove").click()
    confirm = page.locator("#remove-yes")  # the question's Yes: shown only while it asks
    page.get_by_text("Remove harbour.md from the index?").wait_for()
    expect(confirm).to_be_visible()
    shot(page, "06b-remove-asks-first")
    page.locator("#remove-cancel").click()
    page.locator("#upload-notice", has_text="Nothing was removed.").wait_for()
    expect(confirm).to_be_hidden()
    assert "harbour.md" in page.locator("#documents").inner_text()
    # Yes removes it.
    page.locator("#remove").click()
    page.locator("#remove-yes").click()
    page.locator("#upload-notice", has_text="Removed harbour.md").wait_for()
    expect(confirm).to_be_hidden()
    assert "harbour.md" not in page.locator("#documents").inner_text()

    # Settings: a folder the person who started the app did not allow is refused.
    page.locator("#settings").get_by_text("Search settings").click()
    folder_box = page.locator("#index-folder textarea")
    # The accordion's contents get their values as they first open, and that can land just
    # after a fast robot has typed (never a person): type until the text stays put.
    expect(folder_box).not_to_have_value("")
    wanted = str(tmp_path / "no-such-index")
    for _ in range(5):
        folder_box.fill(wanted)
        page.wait_for_timeout(300)
        if folder_box.input_value() == wanted:
            break
    expect(folder_box).to_have_value(wanted)
    page.locator("#use-index").click()
    notice = page.locator("#index-notice .qa-notice")
    notice.wait_for()
    assert notice.inner_text().startswith("This page may open only"), notice.inner_text()
    shot(page, "07-settings")

    # A written answer: the local model writes, only checked sentences are shown, with sources.
    page.locator("#answer-mode").get_by_text("Written by the local model, then checked").click()
    reply = ask(page, "When was the US embassy in Kabul closed?")
    assert "August 2021" in reply.locator(".qa-answer").inner_text()
    assert reply.locator(".qa-source mark").count() >= 1
    shot(page, "08-written-answer")


# Everything a document might try in order to run code in the page or hide it. Each payload that
# ran would set window.__pwned or open a dialog.
TAGS = (
    "<script>window.__pwned='script';alert('script')</script> "
    "<img src=x onerror=\"window.__pwned='img';alert('img')\"> "
    "<svg onload=\"window.__pwned='svg'\"></svg> "
    "<iframe src=\"javascript:window.__pwned='iframe'\"></iframe> "
    "<a href=\"javascript:window.__pwned='link'\">the keeper</a> "
    "<b onmouseover=\"window.__pwned='hover'\" onclick=\"window.__pwned='click'\">bold</b> "
    "<style>body{display:none!important}</style>"
)
MARKUP = (
    "[the keeper](javascript:window.__pwned='md-link') "
    "![x](x\" onerror=\"window.__pwned='md-img') "
    "<details open ontoggle=\"window.__pwned='toggle'\">x</details> "
    "$$\\href{javascript:window.__pwned='katex'}{click}$$ $x^2$ "
    "**bold** `code` <iframe srcdoc=\"<script>parent.__pwned='srcdoc'</script>\"></iframe>"
)
HOSTILE = {
    "qorvath.txt": (
        f"Lighthouses of the north\n\nThe Qorvath lighthouse {TAGS} flashes violet light every "
        "nine seconds.\n\nIts keeper is paid in salt.\n"
    ),
    # The name is hostile too: it is shown in the document list and the notices.
    "ulmbridge <img src=x onerror=alert('name')>.md": (
        f"# Ferries\n\nThe Ulmbridge ferry {MARKUP} leaves the harbour at seven minutes past "
        "noon.\n\nTickets cost two coins.\n"
    ),
    # HTML's own tags are dropped when it is read; its text, here the payloads written as
    # entities, must come out as text.
    "karsk.html": (
        "<html><head><title>Observatory</title><style>body{display:none}</style>"
        "<script>window.__pwned='html-script'</script></head>"
        "<body onload=\"window.__pwned='body'\">"
        f"<p>The Karsk observatory {html.escape(TAGS)} opened its dome in the winter of 1911.</p>"
        "<img src=x onerror=\"window.__pwned='html-img'\">"
        "<iframe src=\"javascript:window.__pwned='html-iframe'\"></iframe>"
        "<p>It <a href=\"javascript:window.__pwned='html-link'\">houses</a> a telescope.</p>"
        "</body></html>"
    ),
}
# Anything that could run, load or restyle, inside what the app shows.
LIVE = (
    "script, img, svg, iframe, object, embed, style, details, math, .katex, code, "
    "strong:not(.qa-short-answer), a[href^='javascript:'], a:not(.qa-marker):not(.qa-goto)"
)
HANDLERS = """(selector) => [...document.querySelectorAll(selector)].flatMap(
  (root) => [root, ...root.querySelectorAll('*')]).filter(
  (el) => [...el.attributes].some((a) => a.name.startsWith('on'))).map((el) => el.outerHTML)"""


def test_hostile_documents_are_shown_as_text_and_run_nothing(page, tmp_path, dialogs):
    try:
        hostile_documents(page, tmp_path, dialogs)
    except BaseException:
        shot(page, "failure-hostile")
        raise


def hostile_documents(page, tmp_path: Path, dialogs: list[str]) -> None:
    page.locator("#documents", has_text="taliban-and-international-diplomacy.txt").wait_for()
    paths = []
    for name, text in HOSTILE.items():
        paths.append(tmp_path / name)
        paths[-1].write_text(text, encoding="utf-8")
    page.set_input_files("#upload input[type=file]", [str(p) for p in paths])
    page.locator("#upload-notice", has_text="Added qorvath.txt").wait_for()
    notice = page.locator("#upload-notice").inner_text()
    assert "ulmbridge" in notice and "karsk.html" in notice, notice
    documents = page.locator("#documents").inner_text()
    assert "qorvath.txt" in documents and "karsk.html" in documents

    quoted = {
        "How often does the Qorvath lighthouse flash?": TAGS,
        "When does the Ulmbridge ferry leave the harbour? <img src=x onerror=alert('asked')>": (
            MARKUP
        ),
        "When did the Karsk observatory open its dome?": TAGS,  # the entities, read as text
    }
    for question, payloads in quoted.items():
        reply = ask(page, question)
        answer = reply.locator(".qa-answer").inner_text()
        assert " ".join(payloads.split()) in " ".join(answer.split()), answer
        assert " ".join(payloads.split()) in " ".join(
            reply.locator("mark").first.inner_text().split()
        )
    # Pointing at and clicking what would be a link or a handler, were it live.
    page.locator("#chat .qa-answer", has_text="the keeper").first.hover()
    page.locator("#chat .qa-answer", has_text="bold").first.click()
    page.wait_for_timeout(500)
    shot(page, "09-hostile-documents")

    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert dialogs == []
    assert page.locator("#chat").is_visible()  # no document's <style> hid the page
    assert page.evaluate("getComputedStyle(document.body).display") != "none"
    for where in ("#chat .qa-reply", "#documents", "#upload-notice"):
        assert page.locator(f"{where} :is({LIVE})").count() == 0, where
        assert page.evaluate(HANDLERS, where) == [], where
    # The question as typed is shown by gradio's chat, which drops what could run.
    assert page.evaluate(HANDLERS, "#chat") == []


def test_files_of_other_types_or_over_the_limit_are_refused(page, tmp_path):
    from qa.documents import supported_types

    page.locator("#documents", has_text="taliban-and-international-diplomacy.txt").wait_for()
    # First a file that is added, so that the note has something to say.
    notes = tmp_path / "notes.md"
    notes.write_text("The harbour opens at dawn.\n")
    upload(page, notes, "Added notes.md")
    # A picture or a program is refused by the drop zone, in the note beside it, with the
    # same list of types as the label; the note no longer says the last file was added.
    for name, data in (("photo.png", b"\x89PNG\r\n\x1a\n"), ("setup.exe", b"MZ\x90\x00")):
        refused = tmp_path / name
        refused.write_bytes(data)
        page.set_input_files("#upload input[type=file]", str(refused))
        notice = page.locator("#upload-notice .qa-error", has_text=f"Could not add {name}")
        notice.wait_for()
        assert f"(only {supported_types()} files can)" in notice.inner_text()
        assert "Added notes.md" not in page.locator("#upload-notice").inner_text()
    assert f"Add documents ({supported_types()})" in page.locator("#upload").inner_text()
    shot(page, "09b-refused-type-inline")
    big = tmp_path / "big.txt"
    big.write_text("The quick brown fox jumps over the lazy dog. " * 30_000)  # 1.35 MB
    page.set_input_files("#upload input[type=file]", str(big))
    page.get_by_text("exceed the maximum allowed size").wait_for()
    shot(page, "10-refused-uploads")
    documents = page.locator("#documents").inner_text()
    assert "setup.exe" not in documents and "big.txt" not in documents
    assert "photo.png" not in documents


def test_the_documents_stay_listed_and_progress_is_in_words_while_indexing(page, tmp_path):
    page.locator("#documents", has_text="taliban-and-international-diplomacy.txt").wait_for()
    report = tmp_path / "report.md"
    report.write_text("The report was written in May. " * 400)
    page.evaluate(WATCH_UPLOAD)
    page.set_input_files("#upload input[type=file]", str(report))
    page.locator("#upload-notice", has_text="Added report.md").wait_for()
    seen = page.evaluate("window.__qa_upload")
    # The list was there all along, and what the progress said was in words.
    assert seen["listed"] and all(seen["listed"]), seen
    words = " ".join(seen["progress"])
    assert "Reading report.md…" in words or "Indexing report.md" in words, seen["progress"]
    assert "Batches" not in words and "steps" not in words, words  # no tqdm bar's words
    assert "report.md" in page.locator("#documents").inner_text()


def send(page, question: str) -> None:
    """Type a question and press Enter, without waiting for anything."""
    page.fill("#question textarea", question)
    page.press("#question textarea", "Enter")


def replies_done(page, count: int, timeout_ms: int = TIMEOUT_MS) -> None:
    """Wait until `count` replies are complete (each ends with its sources)."""
    page.locator("#chat .qa-reply .qa-sources").nth(count - 1).wait_for(timeout=timeout_ms)


def questions_in_chat(page) -> list[str]:
    return page.locator("#chat .qa-question").all_inner_texts()


@pytest.mark.parametrize(
    ("mode", "first", "second", "words", "timeout_ms"),
    [
        (
            "Quoted from the documents",
            "Who is Thomas West?",
            "Where has the US embassy in Afghanistan been operating from?",
            ("Thomas West", "Doha"),
            TIMEOUT_MS,
        ),
        # The local model writes slowly on two cores: the second question is sent while it does.
        (
            "Written by the local model, then checked",
            "When was the US embassy in Kabul closed?",
            "Who is Thomas West?",
            ("August 2021", "Thomas West"),
            240_000,
        ),
    ],
    ids=["quoted", "written"],
)
def test_a_question_sent_while_an_answer_streams_is_never_lost(
    page, mode, first, second, words, timeout_ms
):
    from playwright.sync_api import expect

    tag = mode.split()[0].lower()
    try:
        page.locator("#settings").get_by_text("Search settings").click()
        page.locator("#answer-mode").get_by_text(mode).click()
        page.locator("#settings").get_by_text("Search settings").click()
        send(page, first)
        # The first reply has started (its text, or "Writing…"): the second is sent now.
        page.locator("#chat .qa-reply").first.wait_for()
        send(page, second)
        box, ask_button = page.locator("#question textarea"), page.locator("#ask")
        sent_again = False
        if mode.startswith("Written"):  # seconds of writing: surely still answering
            # The second question is not taken, and not lost either: it waits in the box.
            expect(ask_button).to_be_disabled()
            expect(ask_button).to_have_text("Answering…")
            expect(box).to_have_value(second)
            assert questions_in_chat(page) == [first]
            shot(page, f"11-sent-while-answering-{tag}")
        replies_done(page, 1, timeout_ms)
        expect(ask_button).to_be_enabled()
        expect(ask_button).to_have_text("Ask")
        if box.input_value() == second:  # kept in the box: the person sends it again
            page.press("#question textarea", "Enter")
            sent_again = True
        replies_done(page, 2, timeout_ms)
        assert questions_in_chat(page) == [first, second], (questions_in_chat(page), sent_again)
        answers = page.locator("#chat .qa-reply .qa-answer").all_inner_texts()
        assert len(answers) == 2
        assert words[0] in answers[0] and words[1] in answers[1], answers
        expect(box).to_have_value("")
        # What the model wrote and the checks removed is never shown as if it were content.
        notes = " ".join(n for n in page.locator("#chat .qa-note").all_inner_texts() if n.strip())
        assert "Removed a sentence no passage supports (" not in notes, notes
        for rejected in page.locator("#chat .qa-rejected").all():
            assert not rejected.is_visible()  # folded, under its one-line count
        shot(page, f"12-both-answered-{tag}")
    except BaseException:
        shot(page, f"failure-queue-{tag}")
        raise


# What keeps a person who uses a keyboard or a screen reader, or sees less contrast, out.
BLOCKING = ("serious", "critical")


def axe_violations(page) -> list[str]:
    """axe-core's serious and critical findings on the page as it is, one line each."""
    from axe_playwright_python.sync_playwright import Axe  # a dev dependency

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -- "
        + "; ".join(" ".join(n["target"]) for n in v["nodes"][:5])
        for v in results.response["violations"]
        if v["impact"] in BLOCKING
    ]


def test_the_page_is_accessible_after_an_answer(page):
    try:
        page_is_accessible(page)
    except BaseException:
        shot(page, "failure-accessible")
        raise


def page_is_accessible(page) -> None:
    from playwright.sync_api import expect

    page.locator("#documents", has_text="taliban-and-international-diplomacy.txt").wait_for()
    # On a wide screen the documents sit beside the chat, where the intro says they are.
    assert "listed on the right" in page.locator("#intro").inner_text()
    expect(page.get_by_role("button", name="Documents and settings")).to_be_hidden()
    assert page.locator("h1").all_inner_texts() == ["Ask your documents"]
    # The question box is named for what it is, and shows where the keyboard is.
    box = page.get_by_role("textbox", name="Your question")
    assert box.count() == 1
    page.locator("#ask").focus()
    unfocused = box.evaluate("(el) => getComputedStyle(el).outlineStyle")
    box.focus()
    focused = box.evaluate(
        "(el) => [getComputedStyle(el).outlineStyle, getComputedStyle(el).outlineWidth]"
    )
    assert unfocused == "none" and focused[0] != "none" and float(focused[1][:-2]) >= 2, (
        unfocused,
        focused,
    )
    ask(page, "Who is Thomas West?")
    shot(page, "13-accessible-answer")
    assert axe_violations(page) == []
    # A screen reader names each message by its words, not by its HTML.
    expect(page.locator("#chat [aria-label='Question: Who is Thomas West?']")).to_have_count(1)
    labels = page.locator("#chat [aria-label]").evaluate_all(
        "(els) => els.map((el) => el.getAttribute('aria-label'))"
    )
    assert "Question: Who is Thomas West?" in labels, labels
    assert any(a.startswith("Answer: ") and "Thomas West" in a for a in labels), labels
    assert not any("<" in a for a in labels), labels
    # A refusal, with its closest passages, too.
    refusal = ask(page, "What is the boiling point of mercury?")
    assert "qa-refusal" in refusal.locator(".qa-answer").get_attribute("class")
    assert axe_violations(page) == []
    # At most two closest passages, folded until asked for.
    closest = refusal.locator("details.qa-fold")
    cards = closest.locator(".qa-source")
    assert 1 <= cards.count() <= 2, cards.count()
    expect(cards.first).to_be_hidden()
    summary = closest.locator("summary", has_text="Closest passages")
    # Folding sections tell a screen reader whether they are open.
    expect(summary).to_have_attribute("aria-expanded", "false")
    summary.click()
    expect(cards.first).to_be_visible()
    expect(summary).to_have_attribute("aria-expanded", "true")
    settings = page.get_by_role("button", name="Search settings")
    expect(settings).to_have_attribute("aria-expanded", "false")
    settings.click()
    expect(settings).to_have_attribute("aria-expanded", "true")
    settings.click()
    expect(settings).to_have_attribute("aria-expanded", "false")
    shot(page, "17-refusal-closest-opened")
    assert axe_violations(page) == []


def test_a_citation_opens_the_document_at_the_cited_span(page):
    try:
        for size, name in ((None, "desktop"), (PHONE, "phone")):
            if size:
                page.set_viewport_size(size)
            the_viewer_opens_and_closes(page, name)
    except BaseException:
        shot(page, "failure-viewer")
        raise


def the_viewer_opens_and_closes(page, name: str) -> None:
    from playwright.sync_api import expect

    reply = ask(page, "Which country removed the Taliban from its list of banned organizations?")
    dialog = page.get_by_role("dialog")
    # A click on [1] in the answer: the whole document, the quote marked and in view.
    marker = reply.locator("a.qa-marker").first
    marker.click()
    expect(dialog).to_be_visible()
    expect(dialog.locator("h2")).to_have_text("taliban-and-international-diplomacy.txt")
    mark = dialog.locator("mark")
    expect(mark).to_have_text(reply.locator(".qa-source mark").first.inner_text())
    assert "The Taliban regime in Afghanistan is approaching" in dialog.inner_text()  # all of it
    page.wait_for_timeout(300)
    assert visible_in_viewport(mark), mark.evaluate(IN_VIEW)
    shot(page, f"20-viewer-{name}")
    # The keyboard is in the dialog; Escape closes it and returns to the marker.
    expect(dialog.get_by_role("button", name="Close the document")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="Close the document")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(marker).to_be_focused()
    # The card's [2], from the keyboard, opens the second quote; Close closes it.
    card_link = reply.get_by_role("link", name="Open source [2]")
    card_link.focus()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    expect(dialog.locator("mark")).to_have_text(
        reply.locator(".qa-source mark").nth(1).inner_text()
    )
    assert axe_violations(page) == []
    dialog.get_by_role("button", name="Close the document").click()
    expect(dialog).to_be_hidden()


def test_the_dark_theme_keeps_every_text_readable(page):
    try:
        for size, name in ((None, "desktop"), (PHONE, "phone")):
            in_the_dark(page, size, name)
    except BaseException:
        shot(page, "failure-dark")
        raise


def in_the_dark(page, size, name: str) -> None:
    """With the system set to dark, the page turns dark, and axe finds no text under 4.5:1."""
    page.emulate_media(color_scheme="dark")
    if size:
        page.set_viewport_size(size)
    page.reload()
    page.locator("#documents", has_text="taliban-and-international-diplomacy.txt").wait_for(
        state="attached"
    )
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background != "rgb(255, 255, 255)", background  # the dark theme is in use
    reply = ask(page, "Who is Thomas West?")
    assert "Thomas West" in reply.locator(".qa-answer").inner_text()
    refusal = ask(page, "What is the boiling point of mercury?")
    refusal.locator("summary", has_text="Closest passages").click()
    shot(page, f"18-dark-{name}")
    assert axe_violations(page) == []
    reply.locator("a.qa-marker").first.click()
    page.get_by_role("dialog").wait_for()
    shot(page, f"19-dark-viewer-{name}")
    assert axe_violations(page) == []
    page.keyboard.press("Escape")


PHONE = {"width": 390, "height": 844}
IN_VIEW = """(el) => { const r = el.getBoundingClientRect();
  return [r.top, r.bottom, r.left, r.right, innerWidth, innerHeight]; }"""


def visible_in_viewport(locator) -> bool:
    top, bottom, left, right, width, height = locator.evaluate(IN_VIEW)
    return top >= 0 and bottom <= height and left >= 0 and right <= width and bottom > top


def answer_start_in_view(reply) -> bool:
    """Whether the first line of this reply's answer shows, in the chat and on the screen."""
    return reply.locator(".qa-answer").evaluate(
        """(el) => { const r = el.getBoundingClientRect();
          let box = el.parentElement;
          while (box && !(['auto', 'scroll'].includes(getComputedStyle(box).overflowY)
                          && box.scrollHeight > box.clientHeight)) box = box.parentElement;
          const b = box ? box.getBoundingClientRect() : {top: 0, bottom: innerHeight};
          const line = r.top + 20;
          return r.top >= Math.max(b.top, 0) - 1 && line <= Math.min(b.bottom, innerHeight); }"""
    )


def test_on_a_phone_the_answer_and_the_question_box_stay_in_view(page):
    try:
        on_a_phone(page)
    except BaseException:
        shot(page, "failure-phone")
        raise


def on_a_phone(page) -> None:
    from playwright.sync_api import expect

    page.set_viewport_size(PHONE)
    page.reload()
    documents = page.locator("#documents", has_text="taliban-and-international-diplomacy.txt")
    documents.wait_for(state="attached")
    box, ask_button = page.locator("#question textarea"), page.locator("#ask")
    # On opening, the box and Ask show without scrolling, and so does the way to the documents,
    # which the intro names where it is.
    toggle = page.get_by_role("button", name="Documents and settings")
    assert visible_in_viewport(box) and visible_in_viewport(ask_button)
    assert visible_in_viewport(toggle) and toggle.get_attribute("aria-expanded") == "false"
    intro = page.locator("#intro").inner_text()
    assert "under Documents and settings, just below" in intro and "on the right" not in intro
    expect(documents).to_be_hidden()
    page.screenshot(path=str(SCREENSHOTS / "14-phone-empty.png"))
    toggle.click()
    expect(documents).to_be_visible()
    assert toggle.get_attribute("aria-expanded") == "true"
    assert documents.bounding_box()["y"] < box.bounding_box()["y"]  # above the chat
    page.screenshot(path=str(SCREENSHOTS / "14-phone-documents-open.png"))
    toggle.click()
    expect(documents).to_be_hidden()
    for n, question in enumerate(
        ["Who is Thomas West?", "What did he say about humanitarian aid?"], start=1
    ):
        reply = ask(page, question)
        page.wait_for_timeout(300)  # any scrolling after the last update has happened
        assert answer_start_in_view(reply), f"answer {n} is out of view"
        assert visible_in_viewport(box) and visible_in_viewport(ask_button)
        page.screenshot(path=str(SCREENSHOTS / f"15-phone-answer-{n}.png"))
    shot(page, "16-phone-whole-page")
    # A refusal fits too: its closest passages stay folded under it.
    refusal = ask(page, "What is the boiling point of mercury?")
    page.wait_for_timeout(300)
    assert answer_start_in_view(refusal)
    assert not refusal.locator("details.qa-fold .qa-source").first.is_visible()
    assert visible_in_viewport(box) and visible_in_viewport(ask_button)
    page.screenshot(path=str(SCREENSHOTS / "15-phone-refusal.png"))
    assert axe_violations(page) == []


LONG = (
    "I have been reading about the diplomatic situation for a while and I would like to know "
    "more. " * 30 + "Who is Thomas West?"
)


def test_a_long_question_keeps_the_box_and_the_chat_in_shape(page):
    try:
        long_question(page)
    except BaseException:
        shot(page, "failure-long-question")
        raise


def long_question(page) -> None:
    page.locator("#documents", has_text="taliban-and-international-diplomacy.txt").wait_for()
    box, ask_button = page.locator("#question textarea"), page.locator("#ask")
    one_line = box.bounding_box()["height"]
    page.fill("#question textarea", "A question\nover\nseveral\nlines")
    grown = box.bounding_box()["height"]
    assert grown > 2 * one_line  # the box grows with what is typed...
    page.fill("#question textarea", LONG)
    page.wait_for_timeout(200)
    tall = box.bounding_box()["height"]
    assert tall < 8 * one_line  # ...to a few lines, then scrolls
    assert box.evaluate("(el) => el.scrollHeight > el.clientHeight + 20")
    assert ask_button.bounding_box()["height"] < 8 * one_line and ask_button.inner_text() == "Ask"
    shot(page, "18-long-question-typed")
    page.press("#question textarea", "Enter")
    page.locator("#chat .qa-reply .qa-sources").first.wait_for()
    question = page.locator("#chat .qa-question")
    folded = question.bounding_box()["height"]
    assert folded < 250, folded  # its first lines, not the whole of it
    assert question.get_attribute("aria-expanded") == "false"
    shot(page, "19-long-question-folded")
    question.click()
    assert question.get_attribute("aria-expanded") == "true"
    assert question.bounding_box()["height"] > 2 * folded  # all of it, on request
    assert "Who is Thomas West?" in question.inner_text()
    shot(page, "20-long-question-unfolded")
    question.press("Enter")  # the keyboard folds it back
    assert question.get_attribute("aria-expanded") == "false"
    assert axe_violations(page) == []
