"""Questions about the shipped article with words their answers must contain, shared by tests."""

from pathlib import Path

ARTICLE = (
    Path(__file__).resolve().parent.parent / "corpus" / "taliban-and-international-diplomacy.txt"
)

ARTICLE_QUESTIONS = [
    ("Where has the US embassy in Afghanistan been operating from?", "Doha"),
    ("When was the US embassy in Kabul closed?", "August 2021"),
    ("Who is the US special envoy for Afghanistan?", "Thomas West"),
    ("Which country removed the Taliban from its list of banned organizations?", "Kazakhstan"),
    ("Which faction within the Taliban is backed by the Pakistani military?", "Haqqani"),
    ("What do major powers demand from the Taliban?", "inclusive government"),
    ("What threatens Taliban credibility?", "ISIS-K"),
    ("Where does Georgi Asatryan teach?", "Lomonosov Moscow State University"),
]
