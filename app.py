"""The chat page: ask the shipped article (or your own documents) and see where answers came from.

    python app.py [--host HOST] [--port PORT]     (or QA_HOST, QA_PORT; default 127.0.0.1:7860)
                  [--auth USER:PASSWORD[,USER:PASSWORD...]]      (or QA_AUTH; default: none)

QA_MAX_UPLOAD_MB caps each uploaded file (default 50); the other limits are in qa/limits.py.
QA_INDEX_FOLDERS lists the other index folders the page may switch to (none by default).

Only the page's layout and its wiring live here; what each event does is in qa/ui/.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

import gradio as gr

from qa import QAError, limits
from qa.api import default_index, default_index_path
from qa.documents import supported_types
from qa.errors import disk_problem
from qa.ui import chat, library, render, serving, uploads, viewer
from qa.ui.style import CSS, HEAD, THEME

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
            "local model and checked sentence by sentence). Each **[n]** opens the document at "
            "the passage it came from. Nothing leaves this computer. Your documents are listed "
            '<span class="qa-wide">on the right</span>'
            '<span class="qa-narrow">under <b>Documents and settings</b>, just below</span>.',
            elem_id="intro",
        )
        # On a phone the documents, uploads and settings fold into a section at the top
        # (style.py hides this button on a wide screen, where they sit beside the chat).
        gr.Button("Documents and settings", size="sm", variant="secondary", elem_id="docs-toggle")
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
            with gr.Column(scale=2, elem_id="side"):
                documents = gr.HTML(elem_id="documents", container=True)
                # Any file is taken, and one qa does not read is refused by the server: the
                # reason then shows here, by the drop zone, not in a pop-up over the chat.
                files = gr.File(
                    label=f"Add documents ({supported_types()}), "
                    f"up to {uploads.upload_limit() / 1e6:g} MB each",
                    file_count="multiple",
                    elem_id="upload",
                )
                upload_notice = gr.HTML(elem_id="upload-notice")
                with gr.Accordion("Remove a document", open=False, elem_id="remove-section"):
                    doomed = gr.Dropdown(show_label=False, container=False, elem_id="remove-choice")
                    remove_button = gr.Button("Remove", variant="stop", size="md", elem_id="remove")
                    with gr.Group(visible=False, elem_id="confirm-removal") as confirm_row:
                        confirm_text = gr.HTML()
                        with gr.Row():
                            yes = gr.Button("Yes, remove it", variant="stop", elem_id="remove-yes")
                            no = gr.Button("Cancel", variant="secondary", elem_id="remove-cancel")
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
        # The document viewer: the page's script puts the request in window.qaViewerRequest
        # and presses the hidden button; the dialog comes back into `shown_document`.
        shown_document = gr.HTML(elem_id="viewer", container=False)
        viewer_request = gr.Textbox(visible=False)
        open_viewer = gr.Button("Open the document", elem_id="viewer-open")
        private: dict[str, Any] = {"api_visibility": "private"}
        open_viewer.click(
            viewer.open_document,
            [viewer_request, folder],
            shown_document,
            js="(request, folder) => [window.qaViewerRequest || '', folder]",
            show_progress="hidden",
            **private,
        )
        # Enter and Ask: while this session has an answer streaming, a question sent is not
        # taken (answer_typed leaves it in the box), whichever way it was sent.
        answer_outputs = [question, chatbot, turns, send, new]
        gr.on(
            [question.submit, send.click],
            chat.answer_typed,
            [question, chatbot, turns, k, folder, mode],
            answer_outputs,
            trigger_mode="multiple",
            show_progress_on=chatbot,
            **private,
        )
        chatbot.example_select(
            chat.answer_example,
            [chatbot, turns, k, folder, mode],
            answer_outputs,
            trigger_mode="multiple",
            show_progress_on=chatbot,
            **private,
        )
        new.click(chat.new_conversation, None, [chatbot, turns], queue=False, **private)
        files.upload(
            library.upload,
            [files, folder],
            [files, upload_notice, documents, doomed],
            show_progress_on=files,  # one progress bar, where the files were dropped
            **private,
        )
        # Remove asks first (Yes or Cancel beside the button): nothing is removed by one click.
        asking = [confirm_row, confirm_text, upload_notice]
        remove_button.click(library.confirm_removal, doomed, asking, **private)
        no.click(library.cancel_removal, None, asking, **private)
        yes.click(
            library.remove, [doomed, folder], [upload_notice, documents, doomed], **private
        ).then(library.removal_done, None, [confirm_row, confirm_text], **private)
        for trigger in (use_button.click, folder_box.submit):
            trigger(
                library.use_index,
                [folder_box, folder],
                [folder, index_notice, documents, doomed],
                **private,
            )
        page.load(library.documents_view, folder, [documents, doomed], **private)
        gr.api(chat.ask_api, api_name="ask")
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
        auth = serving.parse_auth(args.auth, where=args.auth_from)
        if args.auth_from == "--auth" and not auth:
            raise QAError("--auth must be USER:PASSWORD, like ann:correct-horse; it is empty.")
        limit = limits.current()  # every setting checked before anything starts
    except QAError as error:
        print(f"qa: {error}", file=sys.stderr)
        return 2
    if not auth and not serving.is_loopback(args.host):
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
            os.environ["GRADIO_TEMP_DIR"] = str(serving.private_cache(index.path))
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
        auth=serving.SignIn(auth, per_minute=limit.login_attempts_per_minute) if auth else None,
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
