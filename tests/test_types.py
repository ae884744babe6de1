from qa.types import Document, Page


def test_page_at_finds_the_page_holding_an_offset():
    doc = Document(
        "r.pdf",
        "/r.pdf",
        "one\n\ntwo\n\nthree",
        "h",
        pages=(Page(1, 0, 3), Page(2, 5, 8), Page(4, 10, 15)),
    )
    assert [doc.page_at(i) for i in (0, 2, 4, 5, 9, 10, 14)] == [1, 1, 1, 2, 2, 4, 4]


def test_unpaged_documents_have_no_page():
    assert Document("a.txt", "/a.txt", "text", "h").page_at(2) is None
