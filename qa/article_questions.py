"""Questions about the shipped article (corpus/), each with words its answer must contain: a
known-answer set for the tests and for bench/load_app.py, which checks every answer by it."""

ARTICLE_QUESTIONS: list[tuple[str, str]] = [
    ("Where has the US embassy in Afghanistan been operating from?", "Doha"),
    ("When was the US embassy in Kabul closed?", "August 2021"),
    ("Who is the US special envoy for Afghanistan?", "Thomas West"),
    ("Which country removed the Taliban from its list of banned organizations?", "Kazakhstan"),
    ("Which faction within the Taliban is backed by the Pakistani military?", "Haqqani"),
    ("What do major powers demand from the Taliban?", "inclusive government"),
    ("What threatens Taliban credibility?", "ISIS-K"),
    ("Where does Georgi Asatryan teach?", "Lomonosov Moscow State University"),
]
