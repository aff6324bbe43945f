"""Small talk out of a context's turn lines: which sentences go, which stay, and that the item
keeps its text."""

from __future__ import annotations

from datetime import UTC, datetime

from outcrop.core.types import Hit, Level
from outcrop.retrieve.context import pack_context
from outcrop.retrieve.smalltalk import participant_names, without_small_talk

NAMES = participant_names(["Melanie", "Caroline"])


def test_greetings_thanks_and_praise_go_and_what_was_said_stays() -> None:
    text = "Thanks, Mel! Wow, that's great! I just signed up for a pottery class yesterday. Keep it up!"
    assert without_small_talk(text, NAMES) == "I just signed up for a pottery class yesterday."


def test_a_sentence_with_one_word_of_content_stays() -> None:
    text = "Congrats on the promotion, Caroline! That's awesome."
    assert without_small_talk(text, NAMES) == "Congrats on the promotion, Caroline!"


def test_a_name_counts_as_small_talk_only_when_it_is_a_participants() -> None:
    assert without_small_talk("Thanks, Mel! We went to Paris.", NAMES) == "We went to Paris."
    assert without_small_talk("Thanks, Paris! We went camping.", NAMES) == "Thanks, Paris! We went camping."


def test_a_turn_of_small_talk_only_keeps_its_text() -> None:
    assert without_small_talk("Thanks, Caroline! Glad you like it.", NAMES) == "Thanks, Caroline! Glad you like it."


def test_a_picture_shared_stays_with_its_caption() -> None:
    text = "Wow! [shared an image: a photo of a painting of a sunset over a lake]"
    assert without_small_talk(text, NAMES) == "[shared an image: a photo of a painting of a sunset over a lake]"


def _turn(item_id: str, text: str, level: Level = Level.TURN) -> Hit:
    return Hit(
        id=item_id, text=text, score=1.0, level=level, speaker="Melanie", timestamp=datetime(2023, 7, 3, tzinfo=UTC)
    )


def test_a_context_line_leaves_small_talk_out_and_the_item_keeps_its_text() -> None:
    said = "Hey Caroline! Hope you're doing good. I ran a charity race for mental health last Saturday."
    hits = [_turn("t_1", said), _turn("f_1", "Thanks, Caroline! Melanie ran a race.", Level.FACT)]
    context = pack_context("what race?", hits, 1000, participants=["Melanie", "Caroline"])
    lines = context.text.splitlines()
    assert "[2] Melanie: I ran a charity race for mental health last Saturday." in lines  # cited as before
    assert "Hope you're doing good" not in context.text
    assert context.items[1].id == "t_1" and context.items[1].text == said  # the item as stored
    assert "[1] Thanks, Caroline! Melanie ran a race." in lines  # a fact's line is as stored
    assert pack_context("what race?", hits, 1000).text.count("Hope you're doing good") == 1  # no participants given


def test_the_room_small_talk_leaves_takes_another_line() -> None:
    chatty = [
        _turn(f"t_{n}", f"Wow, that's amazing, Caroline! Thanks so much! I baked bread number {n}.") for n in range(40)
    ]
    plain = pack_context("bread?", chatty, 300)
    compact = pack_context("bread?", chatty, 300, participants=["Melanie", "Caroline"])
    assert compact.tokens <= 300 and plain.tokens <= 300
    assert len(compact.items) > len(plain.items)
