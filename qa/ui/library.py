"""The documents panel: the list of indexed documents, adding uploaded files, removing one,
and switching to another index folder. Each handler returns what the panel shows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gradio as gr

from qa.ui import render, serving, uploads
from qa.ui.boundary import guarded


def _listing_failed(message: str, *_: Any) -> tuple[str, Any]:
    return render.render_notice(message, error=True), gr.update(choices=[], value=None)


@guarded("listing the documents", _listing_failed)
def documents_view(folder: str) -> tuple[str, Any]:
    """The list of indexed documents and the choices of the remove menu."""
    index = serving.open_index(folder)
    names = [d.source for d in index.documents]
    return render.render_documents(index), gr.update(choices=names, value=None)


def _upload_failed(
    message: str, files: Sequence[str] | None, folder: str, *_: Any
) -> tuple[None, str, Any, Any]:
    # add_uploads puts the uploads folder back as it was
    notice = render.render_notice(f"{message} The index is unchanged.", error=True)
    return (None, notice, *documents_view(folder))


@guarded("adding the files", _upload_failed)
def upload(
    files: Sequence[str] | None,
    folder: str,
    # Gradio finds the tracker by its default. Only add_uploads' plain words show ("Reading
    # report.pdf…"), not the tqdm bars underneath ("Batches - 0.0%").
    progress: gr.Progress = gr.Progress(),  # noqa: B008
) -> tuple[None, str, Any, Any]:
    """Add uploaded files to the current index and say what happened."""
    if not files:
        return (None, "", *documents_view(folder))
    try:
        result = uploads.add_uploads(
            serving.open_index(folder),
            files,
            progress=lambda share, what: progress(share, desc=what),
        )
    finally:
        serving.forget_uploaded(files)
    notice = render.render_notice(result.message, error=not (result.changed or result.unchanged))
    return (None, notice, *documents_view(folder))


def confirm_removal(source: str | None) -> tuple[Any, str, str]:
    """Remove asks first: the question, with Yes and Cancel beside it; or what to choose."""
    if not source:
        notice = render.render_notice("Choose a document to remove first.", error=True)
        return gr.update(visible=False), "", notice
    question = render.render_notice(
        f"Remove {source} from the index? An uploaded copy is deleted with it."
    )
    return gr.update(visible=True), question, ""


def cancel_removal() -> tuple[Any, str, str]:
    """Remove was not confirmed: nothing changes."""
    return gr.update(visible=False), "", render.render_notice("Nothing was removed.")


def removal_done() -> tuple[Any, str]:
    """The question goes once it is answered."""
    return gr.update(visible=False), ""


def _remove_failed(message: str, source: str | None, folder: str) -> tuple[str, Any, Any]:
    return (render.render_notice(message, error=True), *documents_view(folder))


@guarded("removing the document", _remove_failed)
def remove(source: str | None, folder: str) -> tuple[str, Any, Any]:
    """Remove the chosen document from the current index."""
    message = uploads.remove_document(serving.open_index(folder), source or "")
    return (render.render_notice(message), *documents_view(folder))


def _switch_failed(message: str, text: str, current: str) -> tuple[str, str, Any, Any]:
    return (current, render.render_notice(message, error=True), *documents_view(current))


@guarded("opening that index", _switch_failed)
def use_index(text: str, current: str) -> tuple[str, str, Any, Any]:
    """Switch to the index in the typed folder, or say why it cannot be used."""
    index = serving.open_index(text)
    folder = render.index_name(index)
    count = f"{len(index)} document{'s' if len(index) != 1 else ''}"
    notice = render.render_notice(f"Using the index in {folder}: {count}.")
    return (folder, notice, *documents_view(folder))
