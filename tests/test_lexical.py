import numpy as np

from qa.lexical import Bm25, Postings, terms


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
    texts = ["The embassy moved to Doha.", "Kazakhstan updated its list."]
    bm25 = Bm25.build(texts)
    Postings.build(texts).save(tmp_path)
    loaded = Bm25([(Postings.load(tmp_path), np.arange(2))])
    assert loaded.top(terms("Kazakhstan list"), 2) == bm25.top(terms("Kazakhstan list"), 2)
    assert loaded.idf("doha") == bm25.idf("doha")


def test_bm25_scores_match_bm25s_on_the_same_texts():
    import bm25s

    words = "embassy doha taliban envoy kabul aid women school talks treaty border".split()
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(words, rng.integers(1, 30))) for _ in range(200)]
    reference = bm25s.BM25()
    reference.index([terms(t) for t in texts], show_progress=False)
    ours = Bm25.build(texts)
    for question in ("embassy doha", "taliban women school", "treaty treaty border"):
        _, scores = reference.retrieve([terms(question)], k=10, show_progress=False)
        top = ours.top(terms(question), 10)
        assert np.allclose(sorted(scores[0]), sorted(s for _, s in top), rtol=1e-5)


def test_bm25_over_parts_equals_bm25_over_the_live_rows_alone():
    texts = ["doha embassy", "kabul envoy", "doha talks", "aid convoy herat", "doha aid"]
    first, second = Postings.build(texts[:3]), Postings.build(texts[3:])
    # Row 1 ("kabul envoy") removed: the others numbered 0..3 in snapshot order.
    parts = Bm25([(first, np.array([0, -1, 1])), (second, np.array([2, 3]))])
    alone = Bm25.build([texts[0], texts[2], texts[3], texts[4]])
    for question in ("doha", "aid doha", "kabul envoy"):
        assert parts.top(terms(question), 5) == alone.top(terms(question), 5)
    assert parts.idf("doha") == alone.idf("doha") and parts.size == 4
    merged = Postings.merged([(first, np.array([0, 2])), (second, np.arange(2))])
    assert Bm25([(merged, np.arange(4))]).top(terms("aid doha"), 5) == alone.top(
        terms("aid doha"), 5
    )
