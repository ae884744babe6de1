from qa.lexical import Bm25, terms


def test_terms_drop_stopwords_and_stem():
    assert terms("Where has the US embassy been operating from?") == ["us", "embassi", "oper"]


def test_terms_keep_won_and_numbers():
    assert terms("Who won the 2022 FIFA World Cup?") == ["won", "2022", "fifa", "world", "cup"]


def test_bm25_ranks_the_chunk_holding_the_rare_term_first():
    bm25 = Bm25.build(
        ["The embassy moved to Doha.", "The Taliban met the envoy.", "The envoy left Doha."]
    )
    ranked = bm25.top(terms("embassy in Doha"), 3)
    assert [row for row, _ in ranked] == [0, 2]
    assert all(score > 0 for _, score in ranked)


def test_bm25_ignores_terms_it_has_never_seen():
    bm25 = Bm25.build(["The embassy moved to Doha."])
    assert bm25.top(terms("volcano eruption"), 5) == []


def test_idf_is_highest_for_unseen_terms_and_lowest_for_common_ones():
    bm25 = Bm25.build(["taliban doha", "taliban kabul", "taliban envoy"])
    assert bm25.idf("volcano") > bm25.idf("doha") > bm25.idf("taliban")


def test_bm25_survives_save_and_load(tmp_path):
    bm25 = Bm25.build(["The embassy moved to Doha.", "Kazakhstan updated its list."])
    bm25.save(tmp_path / "bm25")
    loaded = Bm25.load(tmp_path / "bm25")
    assert loaded.top(terms("Kazakhstan list"), 2) == bm25.top(terms("Kazakhstan list"), 2)
    assert loaded.idf("doha") == bm25.idf("doha")
