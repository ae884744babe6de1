"""Uploads: safe names, checks before anything is copied, and removal of uploaded copies."""

import pytest

from qa.errors import InputError
from qa.ui.uploads import add_uploads, remove_document, safe_filename


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("a<script>b.md", "a_script_b.md"),
        ("  .hidden.TXT", "hidden.txt"),
        ("notes (final).MD", "notes (final).md"),
        ("..", "upload"),
        ("", "upload"),
        ("x" * 300 + ".pdf", "x" * 116 + ".pdf"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\x.md", "x.md"),
        ("/etc/cron.d/evil.md", "evil.md"),
        ("C:\\Windows\\System32\\a.md", "a.md"),
        ("\\\\server\\share\\a.md", "a.md"),
        ("～/x.md", "x.md"),
        ("／etc／passwd．txt", "passwd.txt"),  # full-width slashes and dot are real ones
        ("．．／．．／x.md", "x.md"),
        ("a\x00b.txt", "a_b.txt"),
        ("line\nbreak\r.md", "line_break.md"),
        ("tab\tbell\x07.md", "tab_bell.md"),
        ("\u202egnp.txt", "gnp.txt"),  # a right-to-left override that would disguise the name
        ("zero\u200bwidth.md", "zero_width.md"),
        ("x.T\u200bXT", "x.txt"),
        ("e\u0301te\u0301.md", "été.md"),  # combining accents composed, not dropped
        ("Ünïcödé 文書.md", "Ünïcödé 文書.md"),  # letters of any script stay
        ("😀.md", "upload.md"),
        ("<img src=x onerror=alert(1)>.html", "img src_x onerror_alert(1).html"),
        ("....", "upload"),
        ("...txt", "upload.txt"),
        (".txt", "upload.txt"),
        (".bashrc", "upload.bashrc"),  # no stem: a suffix alone is no name
        ("\x00", "upload"),
        (" -rf .md", "rf.md"),
        ("CON.txt", "CON_.txt"),
        ("aux.tar.md", "aux_.tar.md"),
        ("a." + "x" * 300, "a_" + "x" * 118),  # a "suffix" that long is no suffix
    ],
)
def test_uploaded_file_names_are_made_safe(given, expected):
    assert safe_filename(given) == expected


def test_an_upload_is_copied_under_a_safe_name_and_answers_questions(tmp_path, write, small_index):
    upload = write("incoming/..evil name!.md", "The lighthouse keeper is Ada Brightwater.")
    steps = []
    result = add_uploads(
        small_index,
        [upload],
        folder=tmp_path / "uploads",
        progress=lambda share, what: steps.append((share, what)),
    )
    assert result.added == ["evil name.md"] and result.skipped == []
    assert result.message == "Added evil name.md."
    assert (tmp_path / "uploads" / "evil name.md").is_file()
    assert [share for share, _ in steps] == sorted(share for share, _ in steps)
    assert steps[-1] == (1.0, "Done")
    answer = small_index.ask("Who is the lighthouse keeper?")
    assert "Ada Brightwater" in answer.text
    assert answer.citations[0].source == "evil name.md"


def test_an_unreadable_upload_is_named_and_the_index_stays_as_it_was(tmp_path, write, small_index):
    before = small_index.documents
    broken = write("incoming/broken.pdf", b"%PDF-1.4 this is not really a pdf")
    empty = write("incoming/empty.txt", "")
    result = add_uploads(small_index, [broken, empty], folder=tmp_path / "uploads")
    assert small_index.documents == before
    assert not (tmp_path / "uploads").exists()
    assert [n.path for n in result.skipped] == ["broken.pdf", "empty.txt"]
    assert result.message.startswith("Could not add broken.pdf: ")
    assert result.message.endswith("The index is unchanged.")


def test_readable_uploads_are_added_beside_unreadable_ones(tmp_path, write, small_index):
    good = write("incoming/good.txt", "The harbour is in Tallinn.")
    bad = write("incoming/bad.docx", b"not a zip")
    result = add_uploads(small_index, [good, bad], folder=tmp_path / "uploads")
    assert result.added == ["good.txt"] and [n.path for n in result.skipped] == ["bad.docx"]
    assert "Added good.txt." in result.message and "Could not add bad.docx" in result.message
    assert len(small_index) == 2


def test_removing_an_uploaded_document_deletes_its_copy_but_not_the_users_files(
    tmp_path, write, small_index
):
    folder = tmp_path / "uploads"
    add_uploads(small_index, [write("incoming/new.txt", "Fresh text here.")], folder=folder)
    assert remove_document(small_index, "new.txt", folder=folder) == (
        "Removed new.txt. 1 document left."
    )
    assert not (folder / "new.txt").exists()
    remove_document(small_index, "docs/doha.txt", folder=folder)
    assert (tmp_path / "docs" / "doha.txt").is_file() and len(small_index) == 0
    with pytest.raises(InputError, match="No document named"):
        remove_document(small_index, "docs/doha.txt", folder=folder)


def test_upload_progress_counts_the_sentences_embedded_in_words(tmp_path, write, small_index):
    # ~60,000 characters of distinct sentences: embedded in slices of 20,000, each reported.
    lines = [f"Entry {i}: the ferry number {i} leaves pier {i % 7} at dawn." for i in range(1000)]
    ledger = write("incoming/ledger.txt", " ".join(lines))
    said: list[tuple[float, str]] = []
    add_uploads(small_index, [ledger], progress=lambda share, what: said.append((share, what)))
    messages = [what for _, what in said]
    assert messages[0] == "Reading ledger.txt…" and messages[-1] == "Done"
    counts = [m for m in messages if m.startswith("Indexing ledger.txt: embedding ")]
    assert len(counts) >= 4 and counts[0] == "Indexing ledger.txt: embedding 0 of 1000 sentences…"
    assert counts[-1] == "Indexing ledger.txt: embedding 1000 of 1000 sentences…"
    done = [int(m.split()[3]) for m in counts]
    assert done == sorted(done) and len(set(done)) == len(done)
    shares = [share for share, _ in said]
    assert shares == sorted(shares)  # the bar never goes back
    assert small_index.search("When does ferry number 999 leave?")[0].source == "ledger.txt"
