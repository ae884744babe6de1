"""What the chat page lets in: sign-in, upload names, types and sizes; never a traceback shown."""

import errno
import os
import subprocess
import sys
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests_support import page_handlers

from qa import Index
from qa.app_runner import ROOT, free_port, running_app
from qa.errors import InputError, QAError
from qa.ui.serving import SignIn, is_loopback, parse_auth
from qa.ui.uploads import MAX_NAME, add_uploads, remove_document, safe_filename, upload_limit

HIDDEN_ERROR = "disk on fire at /srv/secret/path"  # must never reach the page


# --- file names ---------------------------------------------------------------------------


def test_a_long_name_in_a_wide_script_is_cut_by_bytes_not_characters():
    name = safe_filename("文" * 300 + ".txt")
    assert name.endswith(".txt") and set(name[:-4]) == {"文"}
    assert len(name.encode()) <= MAX_NAME < 255  # what ext4 and most file systems allow


@settings(max_examples=400, deadline=None)
@given(st.text(min_size=0, max_size=400))
def test_any_name_becomes_one_plain_visible_file_in_the_folder(tmp_path_factory, name):
    safe = safe_filename(name)
    assert safe and len(safe.encode()) <= MAX_NAME
    assert not safe.startswith((".", "-", " ")) and safe not in {".", ".."}
    assert not any(unicodedata.category(c).startswith(("C", "Z")) and c != " " for c in safe)
    assert "/" not in safe and "\\" not in safe
    assert safe_filename(safe) == safe
    folder = tmp_path_factory.getbasetemp() / "uploads"
    assert (folder / safe).parent == folder


# --- uploads ------------------------------------------------------------------------------


def test_a_file_over_the_limit_is_named_and_the_index_stays_as_it_was(write, small_index, tmp_path):
    before = small_index.documents
    big = write("incoming/big.txt", "All work and no play. " * 100)
    result = add_uploads(small_index, [big], folder=tmp_path / "uploads", max_bytes=1000)
    assert [n.path for n in result.skipped] == ["big.txt"]
    assert result.message == (
        "Could not add big.txt: it is 2.2 kB, over the 1 kB upload limit. The index is unchanged."
    )
    assert small_index.documents == before and not (tmp_path / "uploads").exists()


def test_the_upload_limit_comes_from_qa_max_upload_mb(write, small_index, tmp_path, monkeypatch):
    monkeypatch.setenv("QA_MAX_UPLOAD_MB", "0.001")
    big = write("incoming/big.md", "x" * 1001)
    small = write("incoming/small.md", "The ferry leaves at noon.")
    result = add_uploads(small_index, [big, small], folder=tmp_path / "uploads")
    assert result.added == ["small.md"]
    assert result.message == (
        "Added small.md. Could not add big.md: it is 1 kB, over the 1 kB upload limit."
    )


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("run.sh", "'.sh' files cannot be added"),
        ("setup.exe", "'.exe' files cannot be added"),
        ("page.svg", "'.svg' files cannot be added"),
        ("data.json", "'.json' files cannot be added"),
        ("README", "files without an extension cannot be added"),
    ],
)
def test_only_the_types_qa_reads_are_accepted(write, small_index, tmp_path, name, why):
    file = write(f"incoming/{name}", "The harbour is in Tallinn.")
    result = add_uploads(small_index, [file], folder=tmp_path / "uploads")
    assert not result.changed and len(small_index) == 1
    assert result.message == (
        f"Could not add {name}: {why} (only .docx, .htm, .html, .markdown, .md, .pdf, .rst, "
        ".text, .txt, .xhtml files can). The index is unchanged."
    )


def test_odd_names_on_disk_are_added_under_safe_names(write, small_index, tmp_path):
    files = [
        write("incoming/new\nline\x07.md", "The lighthouse keeper is Ada Brightwater."),
        write("incoming/\u202eevil.txt", "The ferry to Ulmbridge leaves at noon."),
        write("incoming/" + "文" * 80 + ".txt", "The observatory of Karsk opened in 1911."),
    ]
    result = add_uploads(small_index, files, folder=tmp_path / "uploads")
    assert result.added == ["new_line.md", "evil.txt", "文" * 38 + ".txt"]
    assert sorted(p.name for p in (tmp_path / "uploads").iterdir()) == sorted(result.added)
    assert "Ada Brightwater" in small_index.ask("Who is the lighthouse keeper?").text


def test_names_that_collide_within_one_upload_are_both_kept(write, small_index, tmp_path):
    first = write("a/re?port.txt", "The first report is about bridges.")
    second = write("b/re*port.txt", "The second report is about tunnels.")
    third = write("c/RE_PORT.txt", "The third report is about canals.")  # some disks ignore case
    result = add_uploads(small_index, [first, second, third], folder=tmp_path / "uploads")
    assert result.added == ["re_port.txt", "re_port (2).txt", "RE_PORT (3).txt"]
    uploads = tmp_path / "uploads"
    assert (uploads / "re_port (2).txt").read_text() == "The second report is about tunnels."
    assert len(small_index) == 4


def test_a_second_upload_of_a_name_replaces_the_first(write, small_index, tmp_path):
    folder = tmp_path / "uploads"
    add_uploads(small_index, [write("v1/notes.md", "The gate code is 4411.")], folder=folder)
    result = add_uploads(
        small_index, [write("v2/notes.md", "The gate code is 9020.")], folder=folder
    )
    assert result.updated == ["notes.md"] and result.message == "Updated notes.md."
    assert [d.source for d in small_index.documents] == ["docs/doha.txt", "notes.md"]
    assert "9020" in small_index.ask("What is the gate code?").text
    assert sorted(p.name for p in folder.iterdir()) == ["notes.md"]  # no backup left behind
    again = add_uploads(
        small_index, [write("v3/notes.md", "The gate code is 9020.")], folder=folder
    )
    assert again.message == "Already in the index, unchanged: notes.md."


def test_a_link_in_the_uploads_folder_is_replaced_not_written_through(write, small_index, tmp_path):
    outside = write("elsewhere/precious.md", "Do not overwrite me.")
    folder = tmp_path / "uploads"
    folder.mkdir()
    (folder / "notes.md").symlink_to(outside)
    add_uploads(small_index, [write("incoming/notes.md", "The gate code is 4411.")], folder=folder)
    assert outside.read_text() == "Do not overwrite me."
    assert not (folder / "notes.md").is_symlink()
    assert (folder / "notes.md").read_text() == "The gate code is 4411."


def test_a_failure_while_indexing_puts_the_uploads_folder_back(
    write, small_index, tmp_path, monkeypatch
):
    folder = tmp_path / "uploads"
    add_uploads(small_index, [write("v1/keep.md", "The gate code is 4411.")], folder=folder)
    before = small_index.documents

    def broken_add(self, paths, **kwargs):
        raise RuntimeError(HIDDEN_ERROR)

    monkeypatch.setattr(Index, "add", broken_add)
    files = [write("v2/keep.md", "The gate code is 9020."), write("v2/new.md", "New text.")]
    with pytest.raises(RuntimeError):
        add_uploads(small_index, files, folder=folder)
    assert sorted(p.name for p in folder.iterdir()) == ["keep.md"]
    assert (folder / "keep.md").read_text() == "The gate code is 4411."
    assert small_index.documents == before


def test_removing_an_upload_never_deletes_a_file_outside_the_uploads_folder(
    write, small_index, tmp_path
):
    remove_document(small_index, "docs/doha.txt", folder=tmp_path / "uploads")
    assert (tmp_path / "docs" / "doha.txt").is_file()


# --- settings -----------------------------------------------------------------------------


def test_sign_ins_are_read_from_user_password_pairs():
    assert parse_auth("ann:s3cret") == [("ann", "s3cret")]
    assert parse_auth(" ann:s3cret , bob:pa:ss:word,") == [("ann", "s3cret"), ("bob", "pa:ss:word")]
    assert parse_auth("") == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("nocolon", "it has no ':'"),
        ("ann:", "it has no password"),
        (":hunter2", "it has no user name"),
        ("ann:one,bob", "entry 2 has no ':'"),
        ("ann:one,ann:two", "entry 2 names the user 'ann' again"),
    ],
)
def test_a_bad_sign_in_setting_is_explained_without_repeating_the_password(text, problem):
    with pytest.raises(InputError) as raised:
        parse_auth(text, where="QA_AUTH")
    message = str(raised.value)
    assert message.startswith("QA_AUTH must be USER:PASSWORD, or several separated by commas")
    assert message.endswith(f"; {problem}.")
    for secret in ("nocolon", "hunter2", "one", "two"):
        assert secret not in message


def test_the_upload_limit_is_a_positive_number_of_megabytes(monkeypatch):
    monkeypatch.delenv("QA_MAX_UPLOAD_MB", raising=False)
    assert upload_limit() == 50_000_000
    assert upload_limit("0.5") == 500_000
    monkeypatch.setenv("QA_MAX_UPLOAD_MB", "7")
    assert upload_limit() == 7_000_000
    for bad in ("", "0", "-3", "ten", "nan", "inf"):
        with pytest.raises(InputError, match="must be a number of megabytes above 0"):
            upload_limit(bad)


def test_only_loopback_hosts_count_as_private():
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.8.8.8", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.5", "myhost", ""))


def _run_app(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    environment.update(env, QA_INDEX=str(ROOT / "no-such-index-for-this-test"))
    return subprocess.run(
        [sys.executable, str(ROOT / "app.py"), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ((), {"QA_AUTH": "nocolon"}, "qa: QA_AUTH must be USER:PASSWORD"),
        (("--auth", "ann:"), {}, "qa: --auth must be USER:PASSWORD"),
        (("--auth", ","), {}, "qa: --auth must be USER:PASSWORD"),
        (("--auth", ""), {}, "qa: --auth must be USER:PASSWORD"),
        ((), {"QA_MAX_UPLOAD_MB": "lots"}, "qa: QA_MAX_UPLOAD_MB must be a number of megabytes"),
    ],
)
def test_a_bad_setting_stops_the_app_with_a_clear_message(args, env, message):
    done = _run_app(*args, **env)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(message) and "Traceback" not in done.stderr
    assert "nocolon" not in done.stderr
    assert not (ROOT / "no-such-index-for-this-test").exists()  # it stopped before the index


# --- no traceback, whatever breaks ----------------------------------------------------------


@pytest.fixture
def app(monkeypatch):
    """app.py, imported, with opening any index failing in a way nobody planned for."""
    import app

    def broken(*args, **kwargs):
        raise RuntimeError(HIDDEN_ERROR)

    monkeypatch.setattr("qa.ui.serving.open_index", broken)
    monkeypatch.setattr(app, "default_index", broken)
    return page_handlers()


def _assert_short_message(html: str, doing: str, caplog) -> None:
    assert f"Something went wrong while {doing}. The details are in the app&#x27;s log." in html
    assert "Traceback" not in html and HIDDEN_ERROR not in html
    logged = [r for r in caplog.records if r.name == "qa.app"]
    assert logged and isinstance(logged[-1].exc_info[1], RuntimeError)  # the log has it all


def test_an_unexpected_error_while_answering_is_a_short_message(app, caplog):
    history = [{"role": "user", "content": "Who is Thomas West?"}]
    *_, (last, turns) = app.respond(history, [], 5, "idx", "extractive")
    assert last[:-1] == history and turns == [] and last[-1]["role"] == "assistant"
    _assert_short_message(last[-1]["content"], "answering", caplog)


def test_an_unexpected_error_midway_through_a_streamed_answer_replaces_it(
    app, small_index, caplog, monkeypatch
):
    monkeypatch.setattr("qa.ui.serving.open_index", lambda folder: small_index)

    def broken_stream(*args, **kwargs):
        yield "<div>Half an answer"
        raise RuntimeError(HIDDEN_ERROR)

    monkeypatch.setattr(app.render, "stream_reply", broken_stream)
    history = [{"role": "user", "content": "Where is the embassy?"}]
    replies = [r[-1]["content"] for r, _ in app.respond(history, [], 5, "idx", "extractive")]
    assert replies[0] == "<div>Half an answer"
    _assert_short_message(replies[-1], "answering", caplog)


def test_unexpected_errors_in_uploads_removal_and_settings_are_short_messages(app, caplog, write):
    cleared, notice, documents, _ = app.upload([str(write("a.txt", "Text."))], "idx")
    assert cleared is None
    _assert_short_message(notice, "adding the files", caplog)
    assert notice.endswith("The index is unchanged.</div>")
    _assert_short_message(documents, "listing the documents", caplog)
    notice, _, _ = app.remove("a.txt", "idx")
    _assert_short_message(notice, "removing the document", caplog)
    folder, notice, _, _ = app.use_index("/somewhere", "idx")
    assert folder == "idx"
    _assert_short_message(notice, "opening that index", caplog)


def test_an_unexpected_error_in_the_api_is_a_short_message(app, caplog):
    import gradio as gr

    with pytest.raises(gr.Error) as raised:
        app.ask_api("Who is Thomas West?", 5)
    assert raised.value.message == (
        "Something went wrong while answering. The details are in the app's log."
    )
    assert isinstance(caplog.records[-1].exc_info[1], RuntimeError)


def test_an_open_host_without_a_password_is_warned_about(app, monkeypatch, capsys):
    monkeypatch.delenv("QA_AUTH", raising=False)
    monkeypatch.setattr("app.default_index", lambda: (_ for _ in ()).throw(QAError("stop")))
    assert app.main(["--host", "0.0.0.0", "--port", "8080"]) == 1  # stopped at the index
    warning = capsys.readouterr().err
    assert "qa: warning: serving on 0.0.0.0 with no password" in warning
    assert "port 8080" in warning and "QA_AUTH=USER:PASSWORD" in warning
    for args in (["--host", "0.0.0.0", "--auth", "ann:pw"], ["--host", "127.0.0.1"]):
        app.main(args)
        assert "warning" not in capsys.readouterr().err


def test_the_served_api_shows_the_short_message_for_an_unexpected_error(
    small_index, monkeypatch, caplog
):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    import app

    def broken_ask(self, *args, **kwargs):
        raise RuntimeError(HIDDEN_ERROR)

    monkeypatch.setattr(app, "default_index", lambda: small_index)
    monkeypatch.setattr("qa.ui.serving.default_index", lambda: small_index)
    monkeypatch.setattr(Index, "ask", broken_ask)
    page = app.build_page()
    page.queue(default_concurrency_limit=app.CONCURRENCY, max_size=app.QUEUE_SIZE)
    port = free_port()
    page.launch(
        server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, show_error=False
    )
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        with pytest.raises(AppError) as raised:
            client.predict("Where is the embassy?", 5, api_name="/ask")
        assert str(raised.value) == (
            "Something went wrong while answering. The details are in the app's log."
        )
    finally:
        page.close()


# --- the running app: sign-in and the upload limit ------------------------------------------

USERS = {"ann": "correct-horse", "bob": "pa:ss"}  # a password may hold ":"


@pytest.fixture(scope="module")
def signed_workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("signed-app")


@pytest.fixture(scope="module")
def signed_app(signed_workdir):
    auth = ",".join(f"{user}:{password}" for user, password in USERS.items())
    env = {"QA_AUTH": auth, "QA_MAX_UPLOAD_MB": "0.01"}
    with running_app(signed_workdir, env=env) as url:
        yield url


@pytest.mark.slow
def test_without_signing_in_nothing_is_served_but_the_sign_in_page(signed_app):
    import httpx
    from gradio_client import Client
    from gradio_client.exceptions import AuthenticationError

    with pytest.raises(AuthenticationError):
        Client(signed_app, verbose=False)
    with pytest.raises(ValueError, match="Could not login"):
        Client(signed_app, auth=("ann", "wrong"), verbose=False)
    question = {"data": ["Who is Thomas West?", 5]}
    for method, path, body in [
        ("GET", "config", None),
        ("GET", "gradio_api/info", None),
        ("POST", "gradio_api/call/ask", question),
        ("POST", "gradio_api/queue/join", {**question, "fn_index": 0, "session_hash": "x"}),
    ]:
        response = httpx.request(method, signed_app + path, json=body)
        assert response.status_code == 401, (path, response.text)
    response = httpx.post(signed_app + "gradio_api/upload", files={"files": ("a.txt", b"hi")})
    assert response.status_code == 401


@pytest.mark.slow
def test_signed_in_users_can_ask(signed_app):
    from gradio_client import Client

    for user, password in USERS.items():
        client = Client(signed_app, auth=(user, password), verbose=False)
        data = client.predict("Who is Thomas West?", 5, api_name="/ask")
        assert "Thomas West" in data["text"] and data["answered"] is True


@pytest.mark.slow
def test_the_server_refuses_an_upload_over_the_limit(signed_app):
    import httpx

    with httpx.Client(base_url=signed_app) as session:
        assert session.post("login", data={"username": "ann", "password": USERS["ann"]}).is_success
        big = session.post("gradio_api/upload", files={"files": ("big.txt", b"x" * 10_001)})
        assert big.status_code == 413
        assert "File size exceeded maximum allowed size of 10000 bytes" in big.text
        small = session.post("gradio_api/upload", files={"files": ("small.txt", b"x" * 9_000)})
        assert small.status_code == 200


def _page_event(session, elem_id: str, data: list) -> dict:
    """Run the page's event for the component `elem_id`, as the browser does; its last message."""
    import json

    config = session.get("config").json()
    components = {c["id"]: c.get("props", {}).get("elem_id") for c in config["components"]}
    fn_index, event = next(
        (i, d)
        for i, d in enumerate(config["dependencies"])
        if d["inputs"] and components[d["inputs"][0]] == elem_id
    )
    body = {
        "data": data,
        "fn_index": fn_index,
        "session_hash": f"test-{fn_index}-{len(data)}",
        "trigger_id": event["targets"][0][0],
    }
    assert session.post("gradio_api/queue/join", json=body).is_success
    with session.stream(
        "GET", f"gradio_api/queue/data?session_hash={body['session_hash']}", timeout=60
    ) as events:
        for line in events.iter_lines():
            if line.startswith("data:"):
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed":
                    return message
    raise AssertionError("the event never completed")


@pytest.mark.slow
def test_the_page_adds_uploads_under_safe_names_and_only_its_own_uploads(
    signed_app, signed_workdir, tmp_path
):
    import httpx
    from gradio_client import Client

    uploads = signed_workdir / "index" / "uploads"
    secret = tmp_path / "secret.txt"
    secret.write_text("The vault combination is 7734.")
    with httpx.Client(base_url=signed_app) as session:
        assert session.post("login", data={"username": "ann", "password": USERS["ann"]}).is_success
        sent = ("../../..\\evil\nname\x07.md", b"The ferry to Ulmbridge leaves at noon.")
        stored = session.post("gradio_api/upload", files={"files": sent}).json()[0]

        def file_data(path: str, name: str) -> dict:
            return {"path": path, "orig_name": name, "meta": {"_type": "gradio.FileData"}}

        done = _page_event(session, "upload", [[file_data(stored, sent[0])], None])
        assert done["success"], done
        added = [p.name for p in uploads.iterdir()]
        assert len(added) == 1 and added[0].endswith(".md") and "evil" in added[0]
        assert added[0] == added[0].strip() and not set(added[0]) & set("/\\\n\x07")
        assert f"Added {added[0]}." in done["output"]["data"][1]

        # A file of the server's own, not uploaded, is refused by gradio before qa sees it.
        done = _page_event(session, "upload", [[file_data(str(secret), "secret.txt")], None])
        assert not done["success"]
        assert [p.name for p in uploads.iterdir()] == added
    client = Client(signed_app, auth=("ann", USERS["ann"]), verbose=False)
    answer = client.predict("What is the vault combination?", 5, api_name="/ask")
    assert "7734" not in answer["text"]


def test_cleaning_a_name_twice_changes_nothing_even_when_nfkc_makes_dots():
    # "‥" and "℠" become ".." and "SM" under NFKC; one pass used to leave "0._000000000sm".
    once = safe_filename("0‥000000000℠")
    assert safe_filename(once) == once


# --- issue 16: what an outside tester got through ----------------------------------------------


@pytest.fixture
def page_on(small_index, monkeypatch, tmp_path):
    """app.py, imported, serving small_index as its own index (in tmp_path/idx)."""
    import app

    monkeypatch.setattr("qa.ui.serving.default_index", lambda: small_index)
    monkeypatch.setattr("qa.ui.serving.default_index_path", lambda: tmp_path / "idx")
    monkeypatch.setattr(app, "default_index", lambda: small_index)
    monkeypatch.delenv("QA_INDEX_FOLDERS", raising=False)
    return page_handlers()


def test_the_page_cannot_be_pointed_at_another_index_or_probe_folders(
    page_on, tmp_path, write, fake_embedder
):
    from qa import build_index

    write("theirs/vault.txt", "The vault combination is 7734.")
    other = build_index([tmp_path / "theirs"], path=tmp_path / "other", embedder=fake_embedder)
    current = str(tmp_path / "idx")
    for typed in [str(other.path), "/etc", "~", str(tmp_path / "nowhere")]:
        folder, notice, _, _ = page_on.use_index(typed, current)
        assert folder == current
        assert "This page may open only its own index and the folders listed in " in notice
        for leak in ("/root", "No index", "There is no folder", "/etc"):
            assert leak not in notice
    # The handlers that take the folder refuse it too: nothing is planted in the other index.
    planted = write("incoming/planted.md", "Planted text.")
    _, notice, _, _ = page_on.upload([str(planted)], str(other.path))
    assert "This page may open only" in notice and not (other.path / "uploads").exists()
    history = [{"role": "user", "content": "What is the vault combination?"}]
    *_, (last, _) = page_on.respond(history, [], 5, str(other.path), "extractive")
    assert "7734" not in last[-1]["content"] and "This page may open only" in last[-1]["content"]


def test_a_huge_chat_history_is_cut_to_the_last_messages(page_on, monkeypatch):
    from qa import Conversation

    asked: list[str] = []
    real = Conversation.ask

    def counting(self, question, **kwargs):
        asked.append(question)
        return real(self, question, **kwargs)

    monkeypatch.setattr(Conversation, "ask", counting)
    history = []
    for n in range(10_000):
        history.append({"role": "user", "content": f"Question {n} about Doha?"})
        history.append({"role": "assistant", "content": "x" * 1000})
    history.append({"role": "user", "content": "Where has the embassy been operating from?"})
    # The page keeps its turns in its own state; the chat's 20,000 messages are not re-read.
    *_, (last, _) = page_on.respond(history, [], 5, "", "extractive")
    assert "Doha" in last[-1]["content"]
    assert asked == ["Where has the embassy been operating from?"]
    asked.clear()
    data = page_on.ask_api(
        "Where has the embassy been operating from?", 5, "extractive", history[:-1]
    )
    # Only the last questions are asked again (for their citations): not 10,000.
    assert data["answered"] and len(asked) <= 3 and asked[-1].startswith("Where has")


@pytest.mark.parametrize(
    ("question", "k", "message"),
    [
        ("Where is the embassy?", "abc", "k (passages to retrieve) must be a whole number from 1"),
        ("Where is the embassy?", None, "k (passages to retrieve) must be a whole number from 1"),
        ("Where is the embassy?", [5], "k (passages to retrieve) must be a whole number from 1"),
        ("Where is the embassy?", 2.5, "k (passages to retrieve) must be a whole number from 1"),
        (None, 5, "The question must be text, got NoneType"),
        (42, 5, "The question must be text, got int"),
        (["Where?"], 5, "The question must be text, got list"),
    ],
)
def test_the_api_names_a_wrong_type_instead_of_something_went_wrong(page_on, question, k, message):
    import gradio as gr

    with pytest.raises(gr.Error) as raised:
        page_on.ask_api(question, k)
    assert raised.value.message.startswith(message)
    assert page_on.ask_api("Where is the embassy?", 5.0)["answered"]  # a slider's 5.0 is 5


def test_markdown_in_a_question_is_shown_as_text_and_loads_nothing(page_on):
    from markdown_it import MarkdownIt

    typed = "![q](http://127.0.0.1:9/leak-question-md) what?"
    _, history = page_on.add_question(typed, [])
    shown = MarkdownIt("commonmark").render(history[-1]["content"])  # HTML passes, as in gradio
    assert "<img" not in shown and "<a " not in shown
    assert "![q](http://127.0.0.1:9/leak-question-md) what?" in shown
    assert page_on.question_text(history[-1]["content"]) == typed


def test_sign_ins_are_limited_per_user_name_per_minute():
    now = [0.0]
    sign_in = SignIn([("ann", "correct-horse")], per_minute=10, clock=lambda: now[0])
    assert sign_in("ann", "correct-horse")
    for _ in range(300):  # the tester's 300 wrong passwords in 0.3 s
        assert not sign_in("ann", "wrong")
    assert not sign_in("ann", "correct-horse")  # the right one no longer gets through
    now[0] += 61
    assert sign_in("ann", "correct-horse")


def test_a_sign_in_setting_with_no_entry_is_refused():
    with pytest.raises(InputError, match="it has no entry"):
        parse_auth(",", where="--auth")


def test_each_session_has_at_most_its_share_of_questions_in_flight(page_on, monkeypatch):
    monkeypatch.setenv("QA_QUESTIONS_PER_SESSION", "2")
    with page_on.SLOTS.hold("visitor"), page_on.SLOTS.hold("visitor"):
        history = [{"role": "user", "content": "Where is the embassy?"}]
        request = type("Request", (), {"session_hash": "visitor"})()
        *_, (last, _) = page_on.respond(history, [], 5, "", "extractive", request)
        assert "2 of your questions are already being answered" in last[-1]["content"]
        *_, (other, _) = page_on.respond(history, [], 5, "", "extractive")  # another session
        assert "Doha" in other[-1]["content"]
    *_, (last, _) = page_on.respond(history, [], 5, "", "extractive", request)
    assert "Doha" in last[-1]["content"]


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_a_full_or_read_only_disk_is_named_on_the_page(page_on, write, monkeypatch, code):
    def no_room(self, *args, **kwargs):
        raise OSError(code, os.strerror(code), "/srv/idx/.qa/tmp-1.json")

    monkeypatch.setattr(Index, "add", no_room)
    monkeypatch.setattr(Index, "remove", no_room)
    _, notice, _, _ = page_on.upload([str(write("a/new.txt", "New text."))], "")
    said = "the disk is full" if code == errno.ENOSPC else "the disk is read-only"
    assert said in notice and "Something went wrong" not in notice
    notice, _, _ = page_on.remove("docs/doha.txt", "")
    assert said in notice and "Something went wrong" not in notice


def test_the_app_on_a_read_only_index_folder_says_so_and_exits_2(page_on, monkeypatch, capsys):
    def read_only():
        raise OSError(errno.EROFS, "Read-only file system", "/mnt/ro/index/.qa")

    monkeypatch.setattr("app.default_index", read_only)
    assert page_on.main(["--port", "8080"]) == 2
    err = capsys.readouterr().err
    assert "the disk is read-only" in err and "Traceback" not in err


def test_uploads_leave_no_copy_in_the_page_cache_and_are_private(
    page_on, small_index, tmp_path, monkeypatch, write
):
    stale = tmp_path / "idx" / ".page-cache" / "old" / "secret.md"
    stale.parent.mkdir(parents=True)
    stale.write_text("The first secret.")
    cache = page_on.private_cache(tmp_path / "idx")
    assert not stale.exists() and cache.stat().st_mode & 0o777 == 0o700  # emptied on start
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(cache))
    copy = cache / "abc123" / "secret.md"
    copy.parent.mkdir()
    copy.write_text("The gate code is 4411.")
    page_on.upload([str(copy)], "")
    assert not copy.exists() and list(cache.iterdir()) == []  # nothing left to be served
    kept = tmp_path / "idx" / "uploads" / "secret.md"
    assert kept.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "idx" / "uploads").stat().st_mode & 0o777 == 0o700
