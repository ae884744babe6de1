"""The chat page: ask the shipped article (or your own documents) and see where answers came from.

    python app.py [--host HOST] [--port PORT]     (or QA_HOST, QA_PORT; default 127.0.0.1:7860)
                  [--auth USER:PASSWORD[,USER:PASSWORD...]]      (or QA_AUTH; default: none)

QA_MAX_UPLOAD_MB caps each uploaded file (default 50); the other limits are in qa/limits.py.
QA_INDEX_FOLDERS lists the other index folders the page may switch to (none by default).

Only the page and its wiring live here; retrieval, answering and the HTML they show are in qa/.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from qa import Answer, Conversation, QAError, chat, followups, limits, questions, render, uploads
from qa.api import default_index, default_index_path
from qa.conversation import Turn
from qa.errors import disk_problem

EXAMPLES = [
    "Where has the US embassy in Afghanistan been operating from?",
    "Who is Thomas West?",
    "Which country removed the Taliban from its list of banned organizations?",
    "Which faction within the Taliban is backed by the Pakistani military?",
]
PLACEHOLDER = (
    "**Ask about the shipped article**, *The Taliban and International Diplomacy*, "
    "or add your own documents under **Add documents**."
)
STREAM_SECONDS = 0.6  # the whole answer appears over this time, word by word
Messages = list[dict[str, Any]]
Turns = list[Turn]  # the conversation so far, as questions and Answers: never parsed from HTML

# System fonts: nothing to fetch, and plainer than the theme's display font for reading.
THEME = gr.themes.Default(
    primary_hue="indigo",
    font=["system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"],
    font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"],
).set(
    # Every text at least 4.5:1 against its background (WCAG AA): the theme's greys are fainter.
    body_text_color_subdued="*neutral_600",
    body_text_color_subdued_dark="*neutral_300",
    input_placeholder_color="*neutral_500",
    input_placeholder_color_dark="*neutral_400",
    button_primary_background_fill="*primary_600",
    button_primary_background_fill_hover="*primary_700",
    button_primary_background_fill_dark="*primary_600",
    button_primary_background_fill_hover_dark="*primary_700",
    input_border_color_focus="*primary_600",
    input_border_color_focus_dark="*primary_400",
)
CSS = """
:root { --qa-accent-text: #4338ca; }
.dark { --qa-accent-text: #c7d2fe; }
#intro h1 { font-size: 1.5rem; margin-bottom: 4px; }
#intro p { color: var(--body-text-color-subdued); margin-top: -4px; }
#question textarea:focus-visible, #question textarea:focus { outline: 3px solid
  var(--qa-accent-text) !important; outline-offset: 1px; }
:is(button, a, input, summary):focus-visible { outline: 3px solid var(--qa-accent-text);
  outline-offset: 2px; }
#ask { transition: none; }  /* ready to send the moment the answer is done, not 0.2 s later */
#chat .prose.chatbot.md { opacity: 1; }  /* gradio fades every message to 0.8 */
.qa-reply { line-height: 1.55; }
#chat .qa-question { max-height: 7.6em; overflow-y: auto; overflow-wrap: anywhere; }
#chat .qa-question.qa-folded { position: relative; overflow: hidden; cursor: pointer; }
#chat .qa-question.qa-open { max-height: none; padding-bottom: 1.6em; }
#chat .qa-question.qa-folded::after { content: "Show the whole question ▾"; position: absolute;
  left: 0; right: 0; bottom: 0; padding: 1.2em 4px 0; text-align: right; font-weight: 600;
  color: var(--qa-accent-text); background: linear-gradient(rgba(255, 255, 255, 0),
  var(--color-accent-soft) 55%); }
#chat .qa-question.qa-open::after { content: "Fold the question ▴"; }
.qa-answer { font-size: 1.02rem; }
.qa-short { font-size: 1.25rem; margin-bottom: 0.35rem; }
.qa-refusal { font-style: italic; }
.qa-marker { font-weight: 600; text-decoration: none !important; padding: 0 3px; border-radius: 4px;
  background: var(--color-accent-soft); color: var(--qa-accent-text) !important;
  cursor: pointer; }
.qa-note { margin-top: 8px; font-size: 0.85rem; color: var(--body-text-color-subdued); }
.qa-fold > summary { cursor: pointer; }
.qa-fold[open] > summary { margin-bottom: 8px; }
.qa-fold .qa-source + .qa-source { margin-top: 8px; }
.qa-removed ul { margin: 4px 0 0; padding-left: 1.2em; }
.qa-removed li { margin-top: 4px; }
.qa-rejected { color: var(--body-text-color-subdued); }
.qa-sources { margin-top: 12px; display: flex; flex-direction: column; gap: 8px; }
.qa-heading { font-size: 0.75rem; font-weight: 600; text-transform: uppercase;
  letter-spacing: .05em; color: var(--body-text-color-subdued); }
.qa-source { border: 1px solid var(--border-color-primary); border-left: 3px solid
  var(--color-accent); border-radius: 6px; padding: 8px 10px;
  background: var(--background-fill-secondary); scroll-margin: 12px; transition: box-shadow .3s; }
.qa-source.qa-flash { box-shadow: 0 0 0 3px var(--color-accent); }
.qa-head { font-size: 0.85rem; margin-bottom: 4px; display: flex; gap: 6px; flex-wrap: wrap;
  align-items: baseline; }
.qa-n { font-weight: 700; color: var(--qa-accent-text); }
.qa-doc { font-weight: 600; overflow-wrap: anywhere; }
.qa-loc { color: var(--body-text-color-subdued); font-size: 0.85rem; }
.qa-passage { font-size: 0.9rem; color: var(--body-text-color-subdued); }
.qa-passage mark { background: #fde68a; color: #1f2937; padding: 1px 2px; border-radius: 3px; }
.qa-error { color: var(--error-text-color); }
.qa-notice { font-size: 0.9rem; padding: 4px 2px; }
.qa-docs { padding: 10px 12px; }
.qa-docs ul { list-style: none; margin: 6px 0 0; padding: 0; }
.qa-docs li { padding: 5px 0; border-bottom: 1px solid var(--border-color-primary);
  display: flex; justify-content: space-between; gap: 8px; }
.qa-docs li:last-child { border-bottom: none; }
#chat .example { border: 1px solid var(--border-color-primary); border-radius: 8px;
  background: var(--background-fill-secondary); }
#chat .example:hover { border-color: var(--color-accent); }
@media (max-width: 640px) {  /* a phone: the chat, the box and Ask fit on the screen */
  #intro h1 { font-size: 1.3rem; }
  #intro p { font-size: 0.85rem; line-height: 1.4; }
  .qa-short { font-size: 1.1rem; }
  #chat { height: max(300px, calc(100svh - 300px)) !important; }
  #ask-row { flex-wrap: nowrap; }
  #ask-row > * { min-width: 0 !important; }
  #ask { flex: 0 0 auto; min-width: 76px !important; width: auto; }
}
#chat .placeholder { padding: 0 32px; text-align: center; color: var(--body-text-color-subdued); }
"""

# A marker [n] scrolls to its source card (in its own reply) and flashes it.
# After each question the chat shows the question and the start of its answer, not the end of
# the sources (the chat's own autoscroll is off): on a phone the answer stays in view.
# Each message gets a readable label for screen readers (gradio's is the message's HTML).
HEAD = """<script>
document.addEventListener("click", (event) => {
  const marker = event.target.closest && event.target.closest("a.qa-marker");
  if (!marker) return;
  event.preventDefault();
  event.stopPropagation();
  const card = document.getElementById(marker.getAttribute("href").slice(1));
  if (!card) return;
  card.scrollIntoView({behavior: "smooth", block: "nearest"});
  card.classList.remove("qa-flash");
  void card.offsetWidth;
  card.classList.add("qa-flash");
  setTimeout(() => card.classList.remove("qa-flash"), 1500);
}, true);
(() => {
  let seen = "", queued = false;
  const scroller = (el) => {
    for (let e = el.parentElement; e; e = e.parentElement) {
      const y = getComputedStyle(e).overflowY;
      if ((y === "auto" || y === "scroll") && e.scrollHeight > e.clientHeight) return e;
    }
    return null;
  };
  const label = (el) => {
    const which = el.querySelector(".qa-question") ? "Question" : "Answer";
    const text = el.textContent.replace(/\\s+/g, " ").trim();
    const wanted = `${which}: ${text.length > 200 ? text.slice(0, 200) + "…" : text}`;
    if (el.getAttribute("aria-label") !== wanted) el.setAttribute("aria-label", wanted);
  };
  // A long question shows its first lines; a click or Enter shows all of it, and folds it back.
  const fold = (q) => {
    if (q.scrollHeight <= q.clientHeight + 2) return;
    q.classList.add("qa-folded");
    q.setAttribute("role", "button");
    q.setAttribute("tabindex", "0");
    q.setAttribute("aria-expanded", "false");
    const toggle = (event) => {
      if (event.type === "keydown" && event.key !== "Enter" && event.key !== " ") return;
      event.preventDefault();
      event.stopPropagation();
      q.setAttribute("aria-expanded", String(q.classList.toggle("qa-open")));
    };
    q.addEventListener("click", toggle);
    q.addEventListener("keydown", toggle);
  };
  const update = () => {
    queued = false;
    const chat = document.getElementById("chat");
    if (!chat) return;
    chat.querySelectorAll("[aria-label]").forEach((el) => {
      if (el.querySelector(".qa-question, .qa-reply")) label(el);
    });
    chat.querySelectorAll(".qa-question:not(.qa-folded)").forEach(fold);
    const questions = chat.querySelectorAll(".qa-question");
    const replies = chat.querySelectorAll(".qa-reply");
    const reply = replies[replies.length - 1];
    const sig = `${questions.length}/${replies.length}/${reply ? reply.textContent.length : 0}`;
    if (sig === seen || !questions.length) return;
    seen = sig;
    const question = questions[questions.length - 1];
    const box = scroller(question);
    if (!box) return;
    const bottom = box.scrollHeight - box.clientHeight;
    const top = question.getBoundingClientRect().top - box.getBoundingClientRect().top
      + box.scrollTop - 12;
    box.scrollTop = Math.min(bottom, Math.max(0, top));
  };
  new MutationObserver(() => {
    if (!queued) { queued = true; requestAnimationFrame(update); }
  }).observe(document.documentElement, {subtree: true, childList: true, characterData: true});
})();
</script>"""


# --- chat -----------------------------------------------------------------------------------


def add_question(message: str, history: Messages) -> tuple[str, Messages]:
    """Put the typed question into the chat and clear the box."""
    if not message.strip():
        return message, history
    return "", [*history, {"role": "user", "content": render.render_question(message)}]


# While a question is answered the Ask button says so and cannot be pressed, Enter does nothing
# and the text typed meanwhile stays in the box: no question is taken and then lost.
ANSWERING = "Answering…"
_answering: set[str] = set()  # page sessions with an answer streaming now
_answering_lock = threading.Lock()


def _controls(busy: bool) -> tuple[Any, Any]:
    """The Ask and New conversation buttons, disabled while an answer streams."""
    return (
        gr.update(value=ANSWERING if busy else "Ask", interactive=not busy),
        gr.update(interactive=not busy),
    )


def answer_typed(
    message: str,
    history: Messages,
    turns: Turns,
    k: float,
    folder: str,
    mode: str,
    request: gr.Request | None = None,
) -> Iterator[tuple[Any, Messages, Turns, Any, Any]]:
    """Take the typed question, then answer it as `respond` does. Yields the question box, the
    chat, the turns and the two buttons; a question sent while another is answered is not
    taken (it stays in the box)."""
    if not message.strip():
        yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        return
    cleared, history = add_question(message, history)
    with _busy(request) as free:
        if not free:
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        yield cleared, history, turns, *_controls(True)
        chat, after = history, turns
        for chat, after in respond(history, turns, k, folder, mode, request):
            yield gr.skip(), chat, after, gr.skip(), gr.skip()
        yield gr.skip(), chat, after, *_controls(False)


def answer_example(
    event: gr.SelectData,
    history: Messages,
    turns: Turns,
    k: float,
    folder: str,
    mode: str,
    request: gr.Request | None = None,
) -> Iterator[tuple[Any, Messages, Turns, Any, Any]]:
    """A clicked example question, asked as if typed (the box keeps what is in it)."""
    message = followups.message_text(event.value)
    for _box, *rest in answer_typed(message, history, turns, k, folder, mode, request):
        yield gr.skip(), *rest


@contextlib.contextmanager
def _busy(request: gr.Request | None) -> Iterator[bool]:
    """Marks this page session as answering; yields False when it already was."""
    key = request.session_hash if request is not None else None
    if key is None:
        yield True
        return
    with _answering_lock:
        if key in _answering:
            free = False
        else:
            _answering.add(key)
            free = True
    try:
        yield free
    finally:
        if free:
            with _answering_lock:
                _answering.discard(key)


def new_conversation() -> tuple[Messages, Turns]:
    """An empty chat, and no turns for the next question to follow up on."""
    return [], []


# Questions in flight per page session or API client ($QA_QUESTIONS_PER_SESSION): one visitor
# cannot fill every place in the queue's workers.
SLOTS = chat.SessionSlots()


def respond(
    history: Messages,
    turns: Turns,
    k: float,
    folder: str,
    mode: str,
    request: gr.Request | None = None,
) -> Iterator[tuple[Messages, Turns]]:
    """Answer the last question as the next turn of the conversation, streaming the reply;
    sources follow the answer. Yields the chat and the turns (with this one once answered)."""
    try:
        with SLOTS.hold(request.session_hash if request else None):
            yield from _respond(history, turns, k, folder, mode)
    except QAError as error:
        yield [*history, {"role": "assistant", "content": render.render_error(str(error))}], turns
    except Exception as error:  # never a traceback on the page: a short message, the log has it
        message = chat.unexpected(error, "answering")
        yield [*history, {"role": "assistant", "content": render.render_error(message)}], turns


def _respond(
    history: Messages, turns: Turns, k: float, folder: str, mode: str
) -> Iterator[tuple[Messages, Turns]]:
    if not history or history[-1].get("role") != "user":
        yield history, turns
        return
    question = followups.question_text(history[-1]["content"])
    anchor = f"qa-{len(history)}"  # links in this reply lead to this reply's sources
    try:
        passages = questions.whole_k(k)
        # Only the last turns are kept: a follow-up refers to the last one, and a long
        # session must not grow without bound.
        kept = turns[-max(1, limits.current().history_messages // 2) :]
        conversation = Conversation(chat.open_index(folder), turns=kept)
        if mode == "generate":
            answer = yield from _written(history, turns, conversation, question, passages)
        else:
            answer = conversation.ask(question, k=passages)
    except QAError as error:
        yield [*history, {"role": "assistant", "content": render.render_error(str(error))}], turns
        return
    turns = conversation.turns
    if mode == "generate":
        reply = render.render_reply(answer, anchor=anchor)
        yield [*history, {"role": "assistant", "content": reply}], turns
        return
    pause = STREAM_SECONDS / len(render.stream_steps(answer))
    for i, reply in enumerate(render.stream_reply(answer, anchor=anchor)):
        if i:
            time.sleep(pause)
        yield [*history, {"role": "assistant", "content": reply}], turns


def _written(
    history: Messages, turns: Turns, conversation: Conversation, question: str, k: int
) -> Generator[tuple[Messages, Turns], None, Answer]:
    """Stream a written answer's checked sentences as the model produces them."""
    yield [*history, {"role": "assistant", "content": render.render_writing("")}], turns
    stream = conversation.stream(question, k=k, mode="generate")
    text = ""
    for piece in stream:
        text += piece
        yield [*history, {"role": "assistant", "content": render.render_writing(text)}], turns
    assert stream.answer is not None
    return stream.answer


def ask_api(
    question: str,
    k: int = 5,
    mode: str = "extractive",
    history: list[dict[str, str]] | None = None,
    request: gr.Request | None = None,
) -> dict[str, Any]:
    """Answer a question from the app's index: the answer text, citations with quotes, passages.

    mode "generate" has the local language model write the answer (checked before it is shown).
    history, the conversation so far as [{"role": "user" | "assistant", "content": text}, ...],
    lets a follow-up ("Who announced it?") be answered from what was said; the reply's
    "searched" field says what it was searched as.
    """
    try:
        asked = questions.clean_question(question)  # text, or a clear error: never guessed
        passages = questions.whole_k(k)
        with SLOTS.hold(request.session_hash if request else None):
            conversation = Conversation.from_messages(history, index=default_index(), k=passages)
            answer = conversation.ask(asked, k=passages, mode=mode)
        return render.answer_json(answer)
    except QAError as error:
        raise gr.Error(str(error)) from error
    except Exception as error:  # the client gets a short message; the log has the traceback
        raise gr.Error(chat.unexpected(error, "answering")) from error


# --- documents and settings -----------------------------------------------------------------


def documents_view(folder: str) -> tuple[str, Any]:
    """The list of indexed documents and the choices of the remove menu."""
    try:
        index = chat.open_index(folder)
        names = [d.source for d in index.documents]
        return render.render_documents(index), gr.update(choices=names, value=None)
    except QAError as error:
        message = str(error)
    except Exception as error:
        message = chat.unexpected(error, "listing the documents")
    return render.render_notice(message, error=True), gr.update(choices=[], value=None)


def upload(
    files: Sequence[str] | None,
    folder: str,
    # Gradio finds the tracker by its default; it follows the embedding's tqdm bar too.
    progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008
) -> tuple[None, str, Any, Any]:
    """Add uploaded files to the current index and say what happened."""
    if not files:
        return (None, "", *documents_view(folder))
    try:
        result = uploads.add_uploads(
            chat.open_index(folder),
            files,
            progress=lambda share, what: progress(share, desc=what),
        )
        notice = render.render_notice(
            result.message, error=not (result.changed or result.unchanged)
        )
    except QAError as error:
        notice = render.render_notice(f"{error} The index is unchanged.", error=True)
    except Exception as error:  # add_uploads puts the uploads folder back as it was
        message = disk_problem(error) or chat.unexpected(error, "adding the files")
        notice = render.render_notice(f"{message} The index is unchanged.", error=True)
    finally:
        forget_uploaded(files)
    return (None, notice, *documents_view(folder))


def forget_uploaded(files: Sequence[str]) -> None:
    """Delete gradio's copies of uploaded files once qa has its own: none is served later."""
    cache = os.environ.get("GRADIO_TEMP_DIR")
    if not cache:
        return
    root = Path(cache).resolve()
    for file in files:
        path = Path(file).resolve()
        if path.is_relative_to(root) and path != root:
            path.unlink(missing_ok=True)
            if path.parent != root:
                with contextlib.suppress(OSError):
                    path.parent.rmdir()  # gradio keeps each upload in a folder of its own


def private_cache(index_folder: Path) -> Path:
    """The page's own upload cache, inside the index folder and readable by this user only,
    emptied: copies of earlier uploads are never served again, by this app or another."""
    cache = index_folder / ".page-cache"
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(mode=0o700, parents=True)
    cache.chmod(0o700)
    return cache


def remove(source: str | None, folder: str) -> tuple[str, Any, Any]:
    """Remove the chosen document from the current index."""
    try:
        notice = render.render_notice(
            uploads.remove_document(chat.open_index(folder), source or "")
        )
    except QAError as error:
        notice = render.render_notice(str(error), error=True)
    except Exception as error:
        message = disk_problem(error) or chat.unexpected(error, "removing the document")
        notice = render.render_notice(message, error=True)
    return (notice, *documents_view(folder))


def use_index(text: str, current: str) -> tuple[str, str, Any, Any]:
    """Switch to the index in the typed folder, or say why it cannot be used."""
    try:
        index = chat.open_index(text)
    except QAError as error:
        return (current, render.render_notice(str(error), error=True), *documents_view(current))
    except Exception as error:
        message = chat.unexpected(error, "opening that index")
        return (current, render.render_notice(message, error=True), *documents_view(current))
    folder = render.index_name(index)
    count = f"{len(index)} document{'s' if len(index) != 1 else ''}"
    notice = render.render_notice(f"Using the index in {folder}: {count}.")
    return (folder, notice, *documents_view(folder))


# --- the page -------------------------------------------------------------------------------


def build_page() -> gr.Blocks:
    """The chat page, wired to qa."""
    start = render.index_name(default_index())
    # Uploads pass through gradio's cache on their way to the index: clear them out of it
    # within the hour rather than keep private documents in a temporary folder forever.
    with gr.Blocks(title="qa — ask your documents", delete_cache=(1800, 1800)) as page:
        folder = gr.State(start)
        turns = gr.State([])  # this page's conversation: questions and their Answers
        gr.Markdown(
            "# Ask your documents\n"
            "Answers quote the documents word for word (or, in Search settings, are written by a "
            "local model and checked sentence by sentence). Each **[n]** leads to the passage "
            "it came from. Nothing leaves this computer.",
            elem_id="intro",
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    show_label=False,
                    height="68vh",
                    examples=[{"text": q} for q in EXAMPLES],
                    placeholder=PLACEHOLDER,
                    latex_delimiters=[],
                    feedback_options=None,
                    buttons=["copy_all"],
                    autoscroll=False,  # HEAD scrolls to the answer's start instead
                    elem_id="chat",
                )
                with gr.Row(equal_height=True, elem_id="ask-row"):
                    question = gr.Textbox(
                        label="Your question",
                        placeholder="Ask a question… (Enter to send)",
                        show_label=False,
                        container=False,
                        lines=1,
                        max_lines=5,  # it grows to five lines, then scrolls
                        scale=6,
                        autofocus=True,
                        elem_id="question",
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                new = gr.Button(
                    "New conversation", size="sm", variant="secondary", elem_id="new-conversation"
                )
            with gr.Column(scale=2):
                documents = gr.HTML(elem_id="documents", container=True)
                files = gr.File(
                    label="Add documents: .txt .md .html .pdf .docx, "
                    f"up to {uploads.upload_limit() / 1e6:g} MB each",
                    file_count="multiple",
                    file_types=uploads.SUPPORTED_UPLOADS,
                    elem_id="upload",
                )
                upload_notice = gr.HTML(elem_id="upload-notice")
                with gr.Accordion("Remove a document", open=False, elem_id="remove-section"):
                    doomed = gr.Dropdown(show_label=False, container=False, elem_id="remove-choice")
                    remove_button = gr.Button("Remove", variant="stop", size="md", elem_id="remove")
                with gr.Accordion("Search settings", open=False, elem_id="settings"):
                    k = gr.Slider(1, 20, value=5, step=1, label="Passages to retrieve")
                    mode = gr.Radio(
                        [
                            ("Quoted from the documents", "extractive"),
                            ("Written by the local model, then checked", "generate"),
                        ],
                        value="extractive",
                        label="Answers",
                        info="Written answers keep only sentences a passage supports; the "
                        "model loads on first use (about 20 s the very first time).",
                        elem_id="answer-mode",
                    )
                    folder_box = gr.Textbox(
                        label="Index folder",
                        info="A folder made by `qa index`; uploads go into the index in use.",
                        value=start,
                        elem_id="index-folder",
                    )
                    use_button = gr.Button("Use this index", size="md", elem_id="use-index")
                    index_notice = gr.HTML(elem_id="index-notice")
        private: dict[str, Any] = {"api_visibility": "private"}
        # Enter and Ask: while this session has an answer streaming, a question sent is not
        # taken (answer_typed leaves it in the box), whichever way it was sent.
        answer_outputs = [question, chatbot, turns, send, new]
        gr.on(
            [question.submit, send.click],
            answer_typed,
            [question, chatbot, turns, k, folder, mode],
            answer_outputs,
            trigger_mode="multiple",
            show_progress_on=chatbot,
            **private,
        )
        chatbot.example_select(
            answer_example,
            [chatbot, turns, k, folder, mode],
            answer_outputs,
            trigger_mode="multiple",
            show_progress_on=chatbot,
            **private,
        )
        new.click(new_conversation, None, [chatbot, turns], queue=False, **private)
        files.upload(
            upload,
            [files, folder],
            [files, upload_notice, documents, doomed],
            show_progress_on=files,  # one progress bar, where the files were dropped
            **private,
        )
        remove_button.click(remove, [doomed, folder], [upload_notice, documents, doomed], **private)
        for trigger in (use_button.click, folder_box.submit):
            trigger(
                use_index,
                [folder_box, folder],
                [folder, index_notice, documents, doomed],
                **private,
            )
        page.load(documents_view, folder, [documents, doomed], **private)
        gr.api(ask_api, api_name="ask")
    return page


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """--host, --port and --auth, defaulting to QA_HOST, QA_PORT and QA_AUTH."""
    parser = argparse.ArgumentParser(description="The qa chat page.")
    parser.add_argument("--host", default=os.environ.get("QA_HOST") or "127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("QA_PORT") or 7860))
    parser.add_argument(
        "--auth",
        metavar="USER:PASSWORD",
        help="require a sign-in; several as USER:PASSWORD,USER:PASSWORD. QA_AUTH does the "
        "same and keeps the password out of the process list.",
    )
    args = parser.parse_args(argv)
    args.auth_from = "--auth" if args.auth is not None else "QA_AUTH"
    if args.auth is None:
        args.auth = os.environ.get("QA_AUTH", "")
    return args


# Requests wait in one queue. Each event (the page's ask, its example questions, /ask, uploads)
# runs at most CONCURRENCY at once: the embedding model takes one question at a time anyway and
# the search uses both cores of a small machine, so more at once only shares them out more
# thinly (bench/load_app.py measured the same throughput with 1, 2, 4 or 8). QUEUE_SIZE is how
# many may wait: a burst of up to that many questions (32 API sessions at once in the load test,
# or a class asking together) queues and is answered in turn, about 14 a second on 2 cores,
# rather than turned away; past it, a client is told at once that the queue is full instead of
# waiting longer than ~20 s. A waiting request costs a few kB.
CONCURRENCY = 2
QUEUE_SIZE = 256


def main(argv: Sequence[str] | None = None) -> int:
    """Load the index, then serve the page until interrupted."""
    args = parse_args(argv)
    try:
        auth = chat.parse_auth(args.auth, where=args.auth_from)
        if args.auth_from == "--auth" and not auth:
            raise QAError("--auth must be USER:PASSWORD, like ann:correct-horse; it is empty.")
        limit = limits.current()  # every setting checked before anything starts
    except QAError as error:
        print(f"qa: {error}", file=sys.stderr)
        return 2
    if not auth and not chat.is_loopback(args.host):
        print(
            f"qa: warning: serving on {args.host} with no password: anyone who can reach port "
            f"{args.port} of this computer can read every indexed document and add files. "
            "Set QA_AUTH=USER:PASSWORD (or --auth) to require a sign-in.",
            file=sys.stderr,
        )
    # Offline by design: no usage statistics and no version check when gradio starts.
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    print(f"Loading the index in {default_index_path()} (built from corpus/ on first use)...")
    try:
        index = default_index()
        uploads.clean_on_start(index)  # an upload a killed app left half done is settled
        if index.path is not None:
            os.environ["GRADIO_TEMP_DIR"] = str(private_cache(index.path))
    except QAError as error:
        print(f"qa: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        problem = disk_problem(error)
        if problem is None:
            raise
        print(f"qa: {problem} (QA_INDEX sets the index folder)", file=sys.stderr)
        return 2
    page = build_page()
    page.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)
    page.launch(
        server_name=args.host,
        server_port=args.port,
        # Checked by qa: a limit on guessing, and no timing difference between users.
        auth=chat.SignIn(auth, per_minute=limit.login_attempts_per_minute) if auth else None,
        auth_message="Sign in to ask the documents on this computer.",
        max_file_size=limit.upload_bytes,  # gradio refuses larger uploads before they are stored
        css=CSS,
        head=HEAD,
        theme=THEME,
        ssr_mode=False,
        show_error=False,
        footer_links=["api"],  # the API page documents /ask; gradio's own settings would confuse
        run_history=False,  # answers quote private documents: keep no copy in the browser
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
