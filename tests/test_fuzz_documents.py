"""Fuzzing load_file: random bytes, random zip members, deep XML and damaged PDFs give text or a
QAError, never another exception, and never a memory blow-up (issue 16: hostile uploads)."""

from __future__ import annotations

import io
import resource
import zipfile
from pathlib import Path

import docx
from fpdf import FPDF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.documents import load_file
from qa.errors import QAError

FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
MEMORY_MB = 400  # what one hostile file may add to the peak memory of the process
W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def _peak_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def loads_or_refuses(tmp_path: Path, name: str, data: bytes) -> None:
    """load_file gives a Document with text, or a QAError; memory stays bounded."""
    path = tmp_path / name
    path.write_bytes(data)
    before = _peak_mb()
    try:
        document, _ = load_file(path, max_chars=200_000)
        assert document.text.strip() and len(document.text) <= 200_000
    except QAError:
        pass
    assert _peak_mb() - before < MEMORY_MB


def _docx_template() -> dict[str, bytes]:
    buffer = io.BytesIO()
    docx.Document().save(buffer)
    with zipfile.ZipFile(buffer) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


TEMPLATE = _docx_template()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@FUZZ
@given(
    suffix=st.sampled_from([".txt", ".md", ".html", ".pdf", ".docx"]),
    data=st.binary(min_size=0, max_size=4000),
)
def test_random_bytes_of_every_type(tmp_path, suffix, data):
    loads_or_refuses(tmp_path, f"random{suffix}", data)


@FUZZ
@given(
    members=st.dictionaries(
        st.sampled_from(
            [*TEMPLATE, "word/document.xml", "../evil.xml", "/abs.xml", "word/media/x.png"]
        ),
        st.one_of(st.binary(max_size=500), st.sampled_from(list(TEMPLATE.values()))),
        max_size=8,
    ),
    keep=st.sets(st.sampled_from(sorted(TEMPLATE))),
)
def test_random_zip_members_in_a_docx(tmp_path, members, keep):
    loads_or_refuses(tmp_path, "members.docx", _zip({n: TEMPLATE[n] for n in keep} | members))


@FUZZ
@given(
    depth=st.integers(min_value=0, max_value=3000),
    tag=st.sampled_from(["w:tbl", "w:tr", "w:tc", "w:p", "w:r", "w:sdt", "w:x"]),
    text=st.text(max_size=50),
)
def test_deeply_nested_xml_in_a_docx(tmp_path, depth, tag, text):
    inner = f"<w:p><w:r><w:t>{text.replace('<', '').replace('&', '')}</w:t></w:r></w:p>"
    body = f"<{tag}>" * depth + inner + f"</{tag}>" * depth
    xml = f'<?xml version="1.0"?><w:document {W}><w:body>{body}</w:body></w:document>'
    loads_or_refuses(
        tmp_path, "deep.docx", _zip(TEMPLATE | {"word/document.xml": xml.encode("utf-8")})
    )


def _pdf() -> bytes:
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    pdf.add_page()
    pdf.multi_cell(0, 10, "The ferry to Ulmbridge leaves at noon.")
    return bytes(pdf.output())


PDF = _pdf()


@FUZZ
@given(
    edits=st.lists(
        st.tuples(st.integers(0, len(PDF) - 1), st.binary(min_size=1, max_size=20)), max_size=6
    ),
    cut=st.integers(0, len(PDF)),
    objects=st.lists(
        st.sampled_from(
            [
                b"1 0 obj << /Type /Catalog /Pages 1 0 R >> endobj",  # a loop
                b"2 0 obj << /Length 999999999 >> stream\nx\nendstream endobj",
                b"3 0 obj << /Filter /FlateDecode /Length 5 >> stream\nxxxxx\nendstream endobj",
                b"4 0 obj [" + b"[" * 2000 + b"]" * 2000 + b"] endobj",
                b"trailer << /Root 1 0 R /Size -5 >>",
            ]
        ),
        max_size=4,
    ),
)
def test_damaged_and_hostile_pdf_objects(tmp_path, edits, cut, objects):
    data = bytearray(PDF[:cut] if cut else PDF)
    for at, replacement in edits:
        data[at % max(len(data), 1) : at % max(len(data), 1) + len(replacement)] = replacement
    loads_or_refuses(tmp_path, "fuzz.pdf", bytes(data) + b"\n".join(objects))
