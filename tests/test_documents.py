"""Loading files into Documents: what text each format yields, and what gets skipped and why."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import docx
import pytest
from fpdf import FPDF
from pypdf import PdfWriter

from qa.documents import (
    DEFAULT_MAX_FILE_BYTES,
    FileNotice,
    find_files,
    html_visible_text,
    load_file,
    no_documents,
    read_files,
)
from qa.errors import DocumentError, InputError, NoDocumentsError
from qa.types import Page

PDF_PAGES = [
    "First page about apples.",
    "Second page about bananas.\nAnother line here.",
    "Third page about cherries.",
]


def make_pdf(path: Path, pages: list[str]) -> Path:
    """A real PDF with one page per entry; an empty entry makes a blank page."""
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 10, text)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


def make_docx(path: Path, *blocks: str | list[list[str]]) -> Path:
    """A Word file with a paragraph for each string and a table for each list of rows."""
    document = docx.Document()
    for block in blocks:
        if isinstance(block, str):
            document.add_paragraph(block)
            continue
        table = document.add_table(rows=len(block), cols=len(block[0]))
        for r, row in enumerate(block):
            for c, text in enumerate(row):
                table.cell(r, c).text = text
    document.save(str(path))
    return path


@dataclass(slots=True)
class LoadResult:
    """The documents read from some paths, and notices for the files skipped or repaired."""

    documents: list = field(default_factory=list)
    skipped: list[FileNotice] = field(default_factory=list)
    repaired: list[FileNotice] = field(default_factory=list)


def load_documents(paths, *, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> LoadResult:
    """What indexing `paths` reads (qa.indexing reads files the same way): every supported
    file, bad ones skipped with a reason; NoDocumentsError when nothing usable is found."""
    result = LoadResult()
    for document, notice in read_files(find_files(paths), max_file_bytes=max_file_bytes):
        if document is None:
            result.skipped.append(notice)
            continue
        result.documents.append(document)
        if notice is not None:
            result.repaired.append(notice)
    if not result.documents:
        raise no_documents(paths, result.skipped)
    return result


def names(result: LoadResult) -> list[str]:
    return [document.source for document in result.documents]


def skipped(result: LoadResult) -> dict[str, str]:
    return {notice.path: notice.message for notice in result.skipped}


def skip_reason(bad: Path) -> str:
    """Load bad's folder (tmp/docs) beside a good file: only the good one loads; say why not bad."""
    (bad.parent / "good.txt").write_text("fine")
    result = load_documents([bad.parent])
    assert names(result) == ["docs/good.txt"]
    assert [notice.path for notice in result.skipped] == [f"docs/{bad.name}"]
    assert str(result.skipped[0]) == f"docs/{bad.name}: {result.skipped[0].message}"
    return result.skipped[0].message


def only_document(path: Path):
    result = load_documents([path])
    assert len(result.documents) == 1, result.skipped
    return result.documents[0]


# --- plain text and markdown -------------------------------------------------------------


@pytest.mark.parametrize("name", ["a.txt", "a.md", "a.markdown", "a.rst", "a.text", "A.TXT"])
def test_text_is_kept_exactly_as_in_the_file(write, name):
    content = "# Title\r\n\n  *keep*   markdown\tas is  \nÜmlaut – ok\n"
    document = only_document(write(name, content))
    assert document.text == content
    assert document.pages == ()
    assert document.page_at(3) is None


def test_invalid_utf8_is_replaced_and_reported(write):
    write("docs/good.txt", "fine")
    result = load_documents([write("docs/latin.txt", b"caf\xe9 ok").parent])
    texts = {d.source: d.text for d in result.documents}
    assert texts == {"docs/good.txt": "fine", "docs/latin.txt": "caf\ufffd ok"}
    assert result.repaired == [
        FileNotice("docs/latin.txt", "not valid UTF-8 at byte 3; undecodable bytes shown as \ufffd")
    ]
    assert result.skipped == []


def test_bom_is_stripped_from_repaired_text(write):
    document, repair = load_file(write("bom.txt", b"\xef\xbb\xbfcaf\xe9"))
    assert document.text == "caf\ufffd"
    assert repair is not None and "byte 6" in repair


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"text\x00with\x00nul bytes", "looks like a binary file, not text"),
        (bytes(range(128, 256)) * 2, "looks like a binary file, not UTF-8 text"),
    ],
)
def test_binary_file_with_text_extension_is_skipped(write, content, reason):
    assert skip_reason(write("docs/data.txt", content)) == reason


# --- HTML ---------------------------------------------------------------------------------

PAGE = """<!DOCTYPE html>
<html><head><title>Embassy news</title>
<style>p { color: red }</style><script>var secret = "script text";</script></head>
<body>
<h1>Talks resume</h1>
<p>The <b>US</b> embassy said <i>no</i>. It re<em>open</em>ed later.</p>
<!-- an editor's comment -->
<div>Second block with &amp; entity</div>
<p hidden>Hidden by attribute</p>
<div style="color: red; display : none">Hidden by style</div>
<section hidden><p>Nested hidden text</p></section>
<noscript>Enable scripts</noscript>
<ul><li>one</li><li>two</li></ul>
</body></html>"""


def test_html_keeps_only_visible_text_in_paragraphs(write):
    document = only_document(write("page.html", PAGE))
    assert document.text == (
        "Embassy news\n\nTalks resume\n\nThe US embassy said no. It reopened later.\n\n"
        "Second block with & entity\n\none\n\ntwo"
    )


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("<p>The <b>US</b> embassy</p>", "The US embassy"),
        ("<p>co<i>op</i>erate</p><p>next</p>", "cooperate\n\nnext"),
        ("<div>one</div>two<p>three</p>", "one\n\ntwo\n\nthree"),
        ("<p>lines\n  wrapped\n   in source</p>", "lines wrapped in source"),
        ("<title>Report</title><h1>Report</h1><p>Body</p>", "Report\n\nBody"),
        ("<head><title>Only title</title></head><body><p>Text</p></body>", "Only title\n\nText"),
        ("<p style='visibility:hidden'>gone</p><p>kept</p>", "kept"),
        ("<template>tpl</template><p>kept</p><!-- note -->", "kept"),
        ("<table><tr><td>a</td><td>b</td></tr></table>", "a\n\nb"),
        ("plain words", "plain words"),
    ],
)
def test_html_visible_text(markup, expected):
    assert html_visible_text(markup) == expected


def test_svg_title_is_not_the_page_title():
    assert html_visible_text("<body><svg><title>icon</title></svg><p>Text</p></body>") == "Text"


def test_html_with_only_invisible_content_is_skipped(write):
    reason = skip_reason(write("docs/empty.html", "<script>x()</script>"))
    assert reason == "no text found in the file"


# --- PDF ----------------------------------------------------------------------------------


def test_pdf_pages_map_to_offsets_in_the_text(tmp_path):
    document = only_document(make_pdf(tmp_path / "fruit.pdf", PDF_PAGES))
    assert document.text == "\n\n".join(PDF_PAGES)
    assert document.pages == (Page(1, 0, 24), Page(2, 26, 71), Page(3, 73, 99))
    for page, expected in zip(document.pages, PDF_PAGES, strict=True):
        assert document.text[page.start : page.end] == expected
    assert [document.page_at(o) for o in (0, 23, 24, 26, 70, 73, 98)] == [1, 1, 1, 2, 2, 3, 3]
    assert document.page_at(document.text.index("cherries")) == 3


def test_pdf_blank_pages_are_left_out_but_keep_their_numbers(tmp_path):
    pages = ["", "Page two.", "   ", "Page four."]  # a blank and a whitespace-only page
    document = only_document(make_pdf(tmp_path / "gaps.pdf", pages))
    assert document.text == "Page two.\n\nPage four."
    assert document.pages == (Page(2, 0, 9), Page(4, 11, 21))
    assert document.page_at(0) == 2
    assert document.page_at(12) == 4


def _encrypted(path: Path) -> Path:
    writer = PdfWriter(clone_from=str(make_pdf(path, PDF_PAGES)))
    writer.encrypt("secret")
    writer.write(path)
    return path


def _truncated(path: Path) -> Path:
    data = make_pdf(path, PDF_PAGES).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _garbage(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF-1.4 garbage, not a pdf")
    return path


@pytest.mark.parametrize(
    ("make", "phrase"),
    [
        (_encrypted, "encrypted"),
        (_truncated, "not a readable PDF"),
        (_garbage, "not a readable PDF"),
        (lambda p: make_pdf(p, ["", ""]), "no extractable text"),
    ],
    ids=["encrypted", "truncated", "garbage", "no-text"],
)
def test_unusable_pdf_is_skipped_with_a_reason(tmp_path, make, phrase):
    assert phrase in skip_reason(make(tmp_path / "docs" / "bad.pdf"))


# --- DOCX ---------------------------------------------------------------------------------


def test_docx_paragraphs_and_table_rows_become_blank_line_separated_blocks(tmp_path):
    rows = [["Name", "Age"], ["Ann", "41"], ["Bob", ""]]
    path = make_docx(tmp_path / "memo.docx", "Intro paragraph.", "", "  Second paragraph.  ", rows)
    document = only_document(path)
    assert document.text == "Intro paragraph.\n\nSecond paragraph.\n\nName | Age\n\nAnn | 41\n\nBob"
    assert document.pages == ()


def test_docx_table_stays_where_it_is_in_the_document(tmp_path):
    path = make_docx(tmp_path / "order.docx", "Before.", [["A", "B"]], "After.")
    assert only_document(path).text == "Before.\n\nA | B\n\nAfter."


def test_docx_merged_cell_text_appears_once(tmp_path):
    document = docx.Document()
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).merge(table.cell(0, 1)).text = "Merged"
    document.save(str(tmp_path / "merged.docx"))
    assert only_document(tmp_path / "merged.docx").text == "Merged"


@pytest.mark.parametrize("content", [b"PK\x03\x04 not really a zip", b"plain text in disguise"])
def test_corrupt_docx_is_skipped(write, content):
    reason = skip_reason(write("docs/broken.docx", content))
    assert reason.startswith("not a readable Word (.docx) file")


# --- folders, names and skipping ----------------------------------------------------------


def test_folder_is_loaded_recursively_in_sorted_order_without_hidden_files(write):
    # Created out of order, so the result's order cannot come from the creation order.
    for name in ["docs/sub/c.txt", "docs/b.txt", "docs/aa/d.md", "docs/a.md", "docs/Z.txt"]:
        write(name, f"text of {name}")
    for name in ["docs/.hidden.txt", "docs/.git/config.txt", "docs/sub/.cache/x.md"]:
        write(name, "hidden")
    docs = write("docs/a.md", "A").parent
    result = load_documents([docs])
    expected = ["docs/Z.txt", "docs/a.md", "docs/b.txt", "docs/aa/d.md", "docs/sub/c.txt"]
    assert names(result) == expected
    assert result.skipped == [] and result.repaired == []
    assert names(load_documents([docs])) == expected


@pytest.mark.parametrize("name", ["picture.png", "table.csv", "Makefile"])
def test_unsupported_file_is_skipped_with_a_notice(write, name):
    reason = skip_reason(write(f"docs/{name}", b"\x89PNG data"))
    suffix = Path(name).suffix or "none"
    assert reason.startswith(f"unsupported file type '{suffix}' (supported: .docx, .htm, ")


@pytest.mark.parametrize("content", [b"", b" \n\t\r\n"])
def test_empty_file_is_skipped(write, content):
    assert skip_reason(write("docs/empty.md", content)) == "file is empty"


def test_small_limits_are_named_in_bytes_or_kilobytes(write):
    write("docs/a.txt", "a" * 2_000)
    write("docs/b.txt", "ok")
    result = load_documents([write("docs/c.txt", "c" * 900).parent], max_file_bytes=1_000)
    assert skipped(result) == {"docs/a.txt": "file is 2 kB, over the 1 kB limit"}


def test_a_link_and_its_target_are_one_document(write):
    target = write("docs/a.txt", "Some text.")
    (target.parent / "link.txt").symlink_to(target)
    result = load_documents([target.parent])
    assert names(result) == ["docs/a.txt"]


def test_big_file_is_skipped_with_the_limit_named(write):
    write("docs/at-limit.txt", "a" * 1_000_000)
    write("docs/big.txt", "b" * 1_500_000)
    result = load_documents([write("docs/small.txt", "c").parent], max_file_bytes=1_000_000)
    assert names(result) == ["docs/at-limit.txt", "docs/small.txt"]
    assert skipped(result) == {"docs/big.txt": "file is 1.5 MB, over the 1 MB limit"}


def test_folder_with_nothing_usable_raises_naming_the_folder(write, tmp_path):
    write("junk/.hidden.txt", "hidden")
    write("junk/photo.png", b"\x89PNG")
    write("junk/empty.txt", b"")
    with pytest.raises(NoDocumentsError) as caught:
        load_documents([tmp_path / "junk"])
    message = str(caught.value)
    assert message.startswith(f"No readable documents in {tmp_path / 'junk'} (")
    assert "junk/empty.txt: file is empty" in message
    assert "junk/photo.png: unsupported file type '.png'" in message
    assert ".hidden" not in message
    write("only-hidden/.notes.txt", "hidden")
    with pytest.raises(NoDocumentsError) as caught:
        load_documents([tmp_path / "only-hidden"])
    assert str(caught.value).startswith(
        f"No readable documents in {tmp_path / 'only-hidden'}. Supported formats: .docx, .htm,"
    )


def test_missing_path_raises_input_error_naming_it(write, tmp_path):
    missing = tmp_path / "no-such-folder"
    with pytest.raises(InputError) as caught:
        load_documents([write("a.txt", "fine"), missing])
    assert str(caught.value) == f"No such file or folder: {missing}"
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"paths": []}, "No paths given"), ({"max_file_bytes": 0}, "greater than 0, got 0")],
)
def test_bad_arguments_raise_input_error(write, kwargs, match):
    arguments = {"paths": [write("a.txt", "fine")], **kwargs}
    with pytest.raises(InputError, match=match):
        load_documents(**arguments)


@pytest.mark.parametrize(
    ("inputs", "sources"),
    [
        (["docs", "notes.md"], ["docs/a.txt", "docs/sub/b.txt", "notes.md"]),
        (["docs"], ["docs/a.txt", "docs/sub/b.txt"]),
        (["notes.md"], ["notes.md"]),
        (["docs/a.txt", "docs/sub/b.txt"], ["a.txt", "sub/b.txt"]),
        (["docs", "docs/a.txt", "docs/sub"], ["docs/a.txt", "docs/sub/b.txt"]),
    ],
)
def test_sources_are_named_relative_to_the_common_parent(write, tmp_path, inputs, sources):
    files = {"A": "docs/a.txt", "B": "docs/sub/b.txt", "N": "notes.md"}
    for text, name in files.items():
        write(name, text)
    result = load_documents([tmp_path / p for p in inputs])
    assert names(result) == sources
    assert all(d.path == str(tmp_path / files[d.text]) for d in result.documents)


def test_relative_inputs_give_absolute_paths(write, tmp_path, monkeypatch):
    absolute = str(write("docs/a.txt", "A").resolve())
    monkeypatch.chdir(tmp_path)
    (document,) = load_documents("docs").documents
    assert (document.source, document.path) == ("docs/a.txt", absolute)
    assert load_file("docs/a.txt")[0].path == absolute


def test_bom_is_stripped_from_the_text_but_hashed_with_the_file(write):
    raw = b"\xef\xbb\xbfsame words\r\n"
    first = only_document(write("one.txt", raw))
    assert first.text == "same words\r\n"
    assert first.sha256 == hashlib.sha256(raw).hexdigest()
    assert only_document(write("two.md", raw)).sha256 == first.sha256
    changed = only_document(write("one.txt", raw + b"more"))
    assert changed.sha256 == hashlib.sha256(raw + b"more").hexdigest() != first.sha256


def test_load_file_names_the_document_and_raises_document_error(write):
    document, repair = load_file(write("docs/a.txt", "A"), source="custom/name.txt")
    assert (document.source, document.text, repair) == ("custom/name.txt", "A", None)
    assert load_file(write("docs/a.txt", "A"))[0].source == "a.txt"
    with pytest.raises(DocumentError) as caught:
        load_file(write("docs/x.png", b"\x89PNG"), source="docs/x.png")
    assert caught.value.path == "docs/x.png"
    assert str(caught.value).startswith("docs/x.png: unsupported file type '.png'")


# --- hostile files: zip bombs, huge texts, links out of the folder ---------------------------


def make_zip_bomb(path: Path, xml_megabytes: int) -> Path:
    """A .docx whose document.xml is one paragraph of `xml_megabytes` MB of "A": ~1 kB a MB."""
    import io
    import zipfile

    template = io.BytesIO()
    docx.Document().save(template)
    with (
        zipfile.ZipFile(template) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bomb,
    ):
        for item in source.infolist():
            if item.filename != "word/document.xml":
                bomb.writestr(item, source.read(item.filename))
        with bomb.open("word/document.xml", "w", force_zip64=True) as member:
            member.write(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w='
                b'"http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p>'
                b"<w:r><w:t>"
            )
            block = b"A" * 1_048_576
            for _ in range(xml_megabytes):
                member.write(block)
            member.write(b"</w:t></w:r></w:p></w:body></w:document>")
    return path


ZIP_BOMB_CHILD = """
import sys
from qa.documents import load_file
from qa.errors import DocumentError
try:
    load_file(sys.argv[1])
    print("loaded")
except DocumentError as error:
    print(error.reason)
# This program's peak memory (VmHWM, kB): ru_maxrss would count the test process it forked from.
status = open("/proc/self/status").read()
print(int(status.split("VmHWM:")[1].split()[0]) // 1024)  # MB
"""


def test_a_zip_bomb_docx_is_refused_before_it_is_unpacked(tmp_path):
    import subprocess
    import sys

    bomb = make_zip_bomb(tmp_path / "bomb.docx", 413)
    assert bomb.stat().st_size < 1_100_000  # passes the 50 MB upload limit easily
    done = subprocess.run(
        [sys.executable, "-c", ZIP_BOMB_CHILD, str(bomb)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parent.parent,
    )
    reason, peak_mb = done.stdout.strip().splitlines()
    assert reason == (
        "it would unpack to 433.9 MB, over the 100 MB limit (QA_MAX_UNPACKED_MB); a real Word "
        "file this size is rare: save it again or split it"
    )
    assert int(peak_mb) < 400  # it used to take 1.5 GB, and the page 6.6 GB and growing


def test_the_unpacked_limit_of_a_docx_is_set_by_qa_max_unpacked_mb(tmp_path, monkeypatch):
    (tmp_path / "docs").mkdir()
    bomb = make_zip_bomb(tmp_path / "docs" / "small-bomb.docx", 3)
    monkeypatch.setenv("QA_MAX_DOCUMENT_CHARS", "4000000")
    assert len(only_document(bomb).text) == 3 * 1_048_576
    monkeypatch.setenv("QA_MAX_UNPACKED_MB", "2")
    assert skip_reason(bomb).startswith("it would unpack to 4 MB, over the 2 MB limit")


@pytest.mark.parametrize("suffix", [".txt", ".md", ".html"])
def test_a_document_with_too_much_text_is_refused_naming_the_setting(write, monkeypatch, suffix):
    monkeypatch.setenv("QA_MAX_DOCUMENT_CHARS", "1000")
    assert len(only_document(write(f"fits{suffix}", "word " * 200)).text) <= 1000
    reason = skip_reason(write(f"docs/long{suffix}", "x" * 1001))
    assert reason == (
        "its text is 1,001 characters, over the limit of 1,000 for one document "
        "(QA_MAX_DOCUMENT_CHARS); split it into smaller files"
    )


def test_a_pdf_is_read_only_until_its_text_passes_the_limit(tmp_path, monkeypatch):
    pdf = make_pdf(tmp_path / "docs" / "long.pdf", ["Page of text about apples. " * 20] * 30)
    monkeypatch.setenv("QA_MAX_DOCUMENT_CHARS", "2000")
    assert skip_reason(pdf).startswith("its text is more, over the limit of 2,000 for one")


def test_the_default_cap_stops_a_50_mb_one_line_text(write):
    # 50 MB of text used to embed for about 40 minutes with nothing saved until the end.
    reason = skip_reason(write("docs/one-line.txt", "a" * 50_000_000))
    assert reason.startswith("its text is 50,000,000 characters, over the limit of 2,000,000")


def test_text_in_tables_nested_in_table_cells_is_indexed(tmp_path):
    document = docx.Document()
    outer = document.add_table(rows=1, cols=2)
    outer.cell(0, 0).text = "Outer cell"
    inner = outer.cell(0, 1).add_table(rows=1, cols=1)
    inner.cell(0, 0).text = "The nested code is 5521."
    document.save(str(tmp_path / "nested.docx"))
    assert only_document(tmp_path / "nested.docx").text == (
        "Outer cell\n\nThe nested code is 5521."
    )


def test_a_link_leaving_the_folder_is_named_and_not_followed(write, tmp_path):
    secret = write("outside/passwd", "root:x:0:0:root:/root:/bin/bash")
    (write("docs/a.txt", "Some text.").parent / "passwd.txt").symlink_to(secret)
    result = load_documents([tmp_path / "docs"])
    assert names(result) == ["docs/a.txt"]
    assert skipped(result) == {
        "docs/passwd.txt": "a link to a file outside the folder; such links are not followed"
    }


def test_a_docx_error_never_shows_where_the_file_was_read_from(write):
    broken = write("qa-upload-staging/docs/broken.docx", b"plain text in disguise")
    reason = skip_reason(broken)
    assert reason.startswith("not a readable Word (.docx) file") and "qa-upload" not in reason
