import numpy as np

from qa.lexical import Bm25, Held, Postings, terms


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
    loaded = Bm25([(Held(Postings.load(tmp_path)), 0)])
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
    parts = Bm25([(Held(first, np.array([0, 2])), 0), (Held(second), 2)])
    alone = Bm25.build([texts[0], texts[2], texts[3], texts[4]])
    for question in ("doha", "aid doha", "kabul envoy"):
        assert parts.top(terms(question), 5) == alone.top(terms(question), 5)
    assert parts.idf("doha") == alone.idf("doha") and parts.size == 4
    merged = Postings.merged([(first, np.array([0, 2])), (second, np.arange(2))])
    assert Bm25([(Held(merged), 0)]).top(terms("aid doha"), 5) == alone.top(terms("aid doha"), 5)


def test_coverage_over_parts_with_removed_chunks_equals_coverage_over_the_live_rows_alone():
    texts = ["doha embassy", "kabul envoy", "doha talks", "aid convoy herat", "doha aid"]
    first, second = Postings.build(texts[:3]), Postings.build(texts[3:])
    # The second part first: "aid convoy herat", "doha aid", then "doha embassy", "doha talks".
    parts = Bm25([(Held(second), 0), (Held(first, np.array([0, 2])), 2)])
    alone = Bm25.build([texts[3], texts[4], texts[0], texts[2]])
    rows = np.array([3, 0, 2, 1])
    for question in ("doha", "aid doha", "embassy herat", "kabul"):
        assert np.allclose(
            parts.coverage(terms(question), rows), alone.coverage(terms(question), rows)
        )
        assert parts.top(terms(question), 5) == alone.top(terms(question), 5)
    talks, neither, both, aid = parts.coverage(terms("doha embassy"), rows)
    assert both == 1.0 and neither == 0.0 and 0 < talks == aid < 1


def test_a_word_in_every_chunk_changes_no_ranking():
    rng = np.random.default_rng(1)
    words = "embassy doha taliban envoy kabul aid women school talks treaty border".split()
    texts = [f"report {' '.join(rng.choice(words, 8))}" for _ in range(3000)]
    bm25 = Bm25.build(texts)
    assert bm25.idf("report") < 1e-3
    with_it = [row for row, _ in bm25.top(terms("report envoy treaty"), 20)]
    assert with_it == [row for row, _ in bm25.top(terms("envoy treaty"), 20)]


def test_reading_common_terms_only_where_needed_gives_the_exact_top_k(monkeypatch):
    import qa.lexical

    rng = np.random.default_rng(2)
    common = "embassy doha taliban".split()  # in most chunks
    rare = "envoy kabul aid women school talks treaty border herat convoy".split()
    texts = [
        " ".join([*rng.choice(common, 3), *rng.choice(rare, rng.integers(0, 3))])
        for _ in range(2000)
    ]
    first, second = Postings.build(texts[:1200]), Postings.build(texts[1200:])
    held = np.concatenate([np.arange(5), np.arange(6, 1200)])  # a removed chunk
    bm25 = Bm25([(Held(first, held), 0), (Held(second), 1199)])
    questions = [" ".join(rng.choice(common + rare, rng.integers(1, 5))) for _ in range(60)]
    monkeypatch.setattr(qa.lexical, "COMMON_MIN", 2001)  # no term is common: all read in full
    exact = [bm25.top(terms(q), 10) for q in questions]
    monkeypatch.setattr(qa.lexical, "COMMON_MIN", 500)  # the three common words are
    read_in_full = []
    every_row = Bm25._top_of_all
    monkeypatch.setattr(
        Bm25, "_top_of_all", lambda self, *a: read_in_full.append(1) or every_row(self, *a)
    )
    assert [bm25.top(terms(q), 10) for q in questions] == exact
    assert len(read_in_full) < len(questions) - 10  # most mixed questions skip common postings
