"""The small checks the content models share."""

from bot.core.validation import missing_languages, repeated


def test_repeated_names_each_value_that_occurs_twice_once_sorted() -> None:
    assert repeated(["b", "a", "b", "c", "a", "b"]) == ["a", "b"]
    assert repeated([]) == []
    assert repeated(["x", "y"]) == []


def test_missing_languages_in_the_usual_order() -> None:
    assert missing_languages({}) == ["zh", "en"]
    assert missing_languages({"en": "text"}) == ["zh"]
    assert missing_languages({"zh": 1, "en": 2}) == []
