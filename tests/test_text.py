"""qa.text: the word heuristics and the strings for people that the pipeline shares."""

import pytest

from qa.text import byte_size, is_name, is_number, name_stems, names_in, numbers, unique_name


@pytest.mark.parametrize(
    ("word", "name"),
    [("Kabul", True), ("Thomas", True), ("The", False), ("Who", False), ("kabul", False)],
)
def test_a_name_is_capitalised_and_not_capitalised_only_for_grammar(word, name):
    assert is_name(word) is name


@pytest.mark.parametrize(
    ("word", "number"),
    [("2021", True), ("1.5", True), ("twelve", True), ("August", True), ("embassy", False)],
)
def test_a_number_is_digits_or_a_number_word(word, number):
    assert is_number(word) is number


def test_numbers_and_names_of_a_sentence():
    text = "Kazakhstan did not ban it in 2023 or 1,500 times, said Aibek Smadiyarov."
    assert numbers(text) == {"2023", "1500"}
    assert name_stems(text) == {"kazakhstan", "aibek", "smadiyarov"}
    assert name_stems("The embassy moved to Doha.") == {"doha"}  # "The" opens, names nothing
    assert names_in("What did the Islamic Emirate of Afghanistan say?") == [
        "Islamic Emirate of Afghanistan"
    ]


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (999, "999 bytes"),
        (1000, "1 kB"),
        (2_048, "2 kB"),
        (12_500, "12.5 kB"),
        (1_000_000, "1 MB"),
        (61_200_000, "61.2 MB"),
    ],
)
def test_byte_size(n, text):
    assert byte_size(n) == text


def test_unique_name_numbers_before_the_extension():
    taken = {"notes.md", "notes (2).md", "readme"}
    assert unique_name("notes.md", taken.__contains__) == "notes (3).md"
    assert unique_name("readme", taken.__contains__) == "readme (2)"
    assert unique_name("other.md", taken.__contains__) == "other.md"
    shout = unique_name("notes.md", taken.__contains__, fit=lambda s, x, t: f"{s.upper()}{t}.{x}")
    assert shout == "NOTES (2).md"
