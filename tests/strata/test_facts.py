"""Rule-based facts: self-contained sentences with speakers, dates, entities and slots."""

from __future__ import annotations

from datetime import datetime

from outcrop.core.types import Item, Level, Scope
from outcrop.strata.coref import name_there
from outcrop.strata.entities import RuleEntities
from outcrop.strata.facts import RuleFactExtractor, resolve_persons

WHEN = datetime(2023, 5, 8, 13, 56)
PEOPLE = ["Caroline", "Melanie"]


def turn(speaker: str | None, text: str) -> Item:
    return Item(id="t_1", level=Level.TURN, scope=Scope(session_id="s1"), text=text, speaker=speaker, timestamp=WHEN)


def facts(speaker: str | None, text: str) -> list[str]:
    return [f.text for f in RuleFactExtractor().extract(turn(speaker, text), PEOPLE)]


def test_first_and_second_person_become_names() -> None:
    assert resolve_persons("I think you should come with me.", "Caroline", "Melanie") == (
        "Caroline thinks Melanie should come with Caroline."
    )
    assert resolve_persons("I'm proud of your kids", "Caroline", "Melanie") == "Caroline is proud of Melanie's kids"
    assert resolve_persons("I went home", "Caroline", None) == "Caroline went home"
    # an adverb between the pronoun and its verb: the verb still agrees, the adverb is untouched
    assert resolve_persons("I no longer like jazz", "Ann", None) == "Ann no longer likes jazz"
    assert resolve_persons("I sometimes paint at night", "Ann", None) == "Ann sometimes paints at night"
    assert resolve_persons("I kind of want a dog", "Ann", None) == "Ann kind of wants a dog"
    # any "-ly" adverb, and several in a row, stand aside as well ("probablies" was a LoCoMo fact)
    assert resolve_persons("I probably also have loads of books", "Nate", None) == (
        "Nate probably also has loads of books"
    )
    assert resolve_persons("I truly believe it", "Ann", None) == "Ann truly believes it"
    assert resolve_persons("when I first met her", "Ann", None) == "when Ann first met her"
    assert resolve_persons("You probably know", "Ann", "Bo") == "Bo probably knows"
    # "-ly" verbs are verbs; a prefixed past tense stays past
    assert (
        resolve_persons("I rely on friends and I reply fast", "Ann", None)
        == "Ann relies on friends and Ann replies fast"
    )
    assert resolve_persons("I retook the test and I overslept", "Ann", None) == "Ann retook the test and Ann overslept"
    assert resolve_persons("I reapply every year", "Ann", None) == "Ann reapplies every year"  # an -ly verb
    assert resolve_persons("I resent that and I shed a tear", "Ann", None) == "Ann resents that and Ann shed a tear"
    assert resolve_persons("I rewrite it", "Ann", None) == "Ann rewrites it"
    # a present tense ending in "ed" agrees too; a past one stays
    assert (
        resolve_persons("I need to find a spot and I agreed", "Ann", None) == "Ann needs to find a spot and Ann agreed"
    )
    assert resolve_persons("You succeed", "Ann", "Bo") == "Bo succeeds"
    # a negated verb stays whole ("didn't", not "didns't") and agrees where it must
    assert resolve_persons("I didn't go camping", "Ann", None) == "Ann didn't go camping"
    assert resolve_persons("I don't paint and I haven't tried", "Ann", None) == "Ann doesn't paint and Ann hasn't tried"


def test_a_verb_after_you_agrees_with_the_name_that_replaces_it() -> None:
    def you(sentence: str) -> str:
        return resolve_persons(sentence, "Caroline", "Maya")

    assert you("You have wanted to play cello for years.") == "Maya has wanted to play cello for years."
    assert you("You're amazing and you really inspire me.") == "Maya is amazing and Maya really inspires Caroline."
    assert you("If you want, you can join us.") == "If Maya wants, Maya can join us."
    assert you("I told you that you were right.") == "Caroline told Maya that Maya was right."
    assert you("You don't like jazz.") == "Maya doesn't like jazz."
    assert you("Whenever you need help, just ask.") == "Whenever Maya needs help, just ask."
    assert you("I'd love to see another painting of yours!") == "Caroline would love to see another painting of Maya's!"
    # "you" as an object keeps the verb before it as it is
    assert you("I love you so much") == "Caroline loves Maya so much"
    # inside a clause too, a form of be, have or do after "you" is its verb ("Caroline are" was a fact)
    assert you("It's great you have people, and it shows who you are.") == (
        "It's great Maya has people, and it shows who Maya is."
    )
    assert you("No wonder you do so well; I know you really are kind.") == (
        "No wonder Maya does so well; Caroline knows Maya really is kind."
    )
    # ... but not where "you" is an object: after a preposition, a quantifier, a verb that takes it
    assert you("Friends like you are rare. All of you are invited.") == (
        "Friends like Maya are rare. All of Maya are invited."
    )
    assert you("The people who love you are proud.") == "The people who love Maya are proud."
    assert you("I will let you have it. It made you do it.") == "Caroline will let Maya have it. It made Maya do it."
    assert you("I arrived after you yesterday.") == "Caroline arrived after Maya yesterday."


def test_contracted_had_before_a_participle_is_had_not_would() -> None:
    def said(sentence: str) -> str:
        return resolve_persons(sentence, "John", "Maria")

    assert said("I'd been wanting to try yoga for a while.") == "John had been wanting to try yoga for a while."
    assert said("I'd never seen it and you'd told me.") == "John had never seen it and Maria had told John."
    assert said("I'd finished the book.") == "John had finished the book."
    # before a bare verb it stays "would"
    assert said("I'd love to come and you'd like it.") == "John would love to come and Maria would like it."


def test_a_fact_per_informative_sentence_with_its_date_resolved() -> None:
    got = facts("Caroline", "Hey Mel! I went to the LGBTQ support group yesterday. Was it fun for you?")
    assert got == ["Caroline went to the LGBTQ support group yesterday (7 May 2023)."]


def test_facts_record_kind_dates_entities_and_source() -> None:
    [fact] = RuleFactExtractor().extract(turn("Melanie", "We took the kids camping in Yosemite last weekend."), PEOPLE)
    assert fact.source == "t_1" and fact.speaker == "Melanie" and fact.kind == "event"
    assert [d.model_dump() for d in fact.dates] == [
        {
            "phrase": "last weekend",
            "start": "2023-05-06",
            "end": "2023-05-07",
            "granularity": "weekend",
            "label": "the weekend of 6 May 2023",
        }
    ]
    assert "Yosemite" in fact.entities and "Melanie" in fact.entities


def test_slots_are_filled_only_for_the_speaker() -> None:
    extractor = RuleFactExtractor()
    [lives] = extractor.extract(turn("Melanie", "I live in Boston now."), PEOPLE)
    assert lives.slot is not None
    assert (lives.slot.subject, lives.slot.attribute, lives.slot.value, lives.slot.single) == (
        "Melanie",
        "lives_in",
        "Boston",
        True,
    )
    [likes] = extractor.extract(turn("Melanie", "I love painting and swimming."), PEOPLE)
    assert likes.slot is not None and likes.slot.attribute == "likes" and not likes.slot.single
    assert likes.slot.value == "painting and swimming"
    [other] = extractor.extract(turn("Melanie", "My neighbour loves opera music."), PEOPLE)
    assert other.slot is None  # the neighbour, not the speaker, loves it


def test_greetings_questions_and_unchanged_turns_make_no_fact() -> None:
    assert facts("Caroline", "Thanks so much! What did you paint?") == []
    assert facts(None, "Plain text with nothing to resolve") == []


def test_a_short_sentence_naming_an_activity_is_a_fact_and_small_talk_is_not() -> None:
    turn_text = "Yep, so true. Taking care of ourselves is vital. I'm off to go swimming with the kids. Talk soon!"
    assert facts("Melanie", turn_text) == ["Melanie is off to go swimming with the kids."]
    assert facts("Melanie", "Ok! I'm doing kickboxing now.") == ["Melanie is doing kickboxing now."]
    # "playing" or "learning" alone names no activity
    assert facts("Melanie", "Ok! I was playing around. Learning is fun.") == []


def test_a_name_with_initials_stays_one_fact() -> None:
    # cut at "J.K." the turn made the facts "Ann loves J.K." and "Rowling's books ..."
    assert facts("Ann", "I love J.K. Rowling's books. Dr. Lee agrees.") == [
        "Ann loves J.K. Rowling's books.",
        "Ann: Dr. Lee agrees.",
    ]


def test_rule_entities_skip_sentence_initial_capitals() -> None:
    assert RuleEntities().entities("Painting is fun. We met Jonas at Lake Tahoe.") == ["Jonas", "Lake Tahoe"]


def _slot(speaker: str, text: str) -> tuple[str, str] | None:
    found = [f.slot for f in RuleFactExtractor().extract(turn(speaker, text), PEOPLE) if f.slot]
    return (found[0].attribute, found[0].value) if found else None


def test_slots_for_activities_places_titles_and_instruments() -> None:
    # chat puts adverbs between the speaker and the verb, and leading articles on the value
    assert _slot("Caroline", "I just joined a new LGBTQ activist group last Tues.") == (
        "activities",
        "new LGBTQ activist group",
    )
    assert _slot("Caroline", "Last weekend I joined a mentorship program for LGBTQ youth - it's rewarding.") == (
        "activities",
        "mentorship program for LGBTQ youth",
    )
    # places are proper names; a chat line may drop its "I"
    assert _slot("Melanie", "Took a short trip last week to Rome to clear my mind.") == ("visited", "Rome")
    assert _slot("Melanie", "I went to the Grand Canyon with my family.") == ("visited", "Grand Canyon")
    assert _slot("Melanie", "I went to Caroline's house yesterday.") is None  # a possessive, not a place
    assert _slot("Melanie", "I went to the park with my kids.") is None  # not a proper name
    assert _slot("Caroline", "Enjoy your day at the lake!") is None  # said to the listener
    # titles stay quoted, one value each
    assert _slot("Caroline", 'I loved "Becoming Nicole" by Amy Ellis Nutt.') == ("likes", '"Becoming Nicole"')
    assert _slot("Melanie", "I recently finished rereading “The Alchemist” - so inspiring.") == (
        "read",
        '"The Alchemist"',
    )
    assert _slot("Melanie", 'We watched "Frozen" with the kids.') is None  # "we": not the speaker alone
    assert _slot("Melanie", "Yeah, I play clarinet! Started when I was young.") == ("plays", "clarinet")
    assert _slot("Melanie", "I play with my kids every evening.") is None


def test_relation_values_are_names_not_lists_or_possessives() -> None:
    assert _slot("Melanie", "My girlfriend, Toby and I are going camping.") is None  # Toby: maybe not her
    assert _slot("Melanie", "It was for my daughter Sara's birthday.") == ("relation_daughter", "Sara")


def test_slots_skip_negations_wishes_vague_values_and_non_places() -> None:
    for said in [
        "I never visited Rome.",
        "I no longer play the piano.",
        "I never joined the club.",
        "If I went to Paris, I'd see the Louvre.",
        "I wish I played piano.",
        "I like the idea.",
        "I like a lot of things.",
        "I started the day with yoga.",
        "I went to Sunday school.",
        "I went to Christmas dinner.",
        "I visited Caroline.",  # a participant
        'Read "Dune" if you get the chance.',  # said to the listener
    ]:
        assert _slot("Melanie", said) is None, said
    assert _slot("Melanie", "My husband is Caroline's cousin.") is None
    assert _slot("Melanie", "I love McDonald's.") == ("likes", "McDonald's")


def test_slot_values_lose_trailing_place_words_and_durations() -> None:
    assert _slot("Melanie", "Of course, and I joined an amateur orchestra here.") == ("activities", "amateur orchestra")
    assert _slot("Caroline", "I started transitioning three years ago.") == ("activities", "transitioning")


def test_contractions_of_i_and_you_become_the_name_and_the_verb() -> None:
    def said(sentence: str) -> str:
        return resolve_persons(sentence, "Maya", "Jonas")

    assert said("I'll be working on cycling routes.") == "Maya will be working on cycling routes."
    assert said("I’m moving in August and I’ve packed.") == "Maya is moving in August and Maya has packed."
    assert said("You’ll love it and you're welcome.") == "Jonas will love it and Jonas is welcome."
    assert said("I'd like that.") == "Maya would like that."
    assert said("I don’t like it and I didn’t go.") == "Maya doesn't like it and Maya didn't go."


def test_there_names_the_place_said_earlier_in_the_turn() -> None:
    got = facts("Caroline", "Big news: I got a job offer in Lisbon. I'm moving there in August.")
    assert got[-1] == "Caroline is moving there (Lisbon) in August (August 2023)."
    [moving] = [
        f
        for f in RuleFactExtractor().extract(turn("Caroline", "I got a job in Lisbon. I'm moving there soon."), PEOPLE)
        if "moving" in f.text
    ]
    assert "Lisbon" in moving.entities
    # no place before it, or the place named in the same sentence: as said
    assert facts("Caroline", "I'm moving there in August.") == ["Caroline is moving there in August (August 2023)."]
    assert facts("Caroline", "I went to Lisbon. I loved Porto more than being there.")[-1] == (
        "Caroline loved Porto more than being there (Lisbon)."
    )
    assert facts("Caroline", "I went to Lisbon and loved it there.") == ["Caroline went to Lisbon and loved it there."]


def test_there_names_a_place_gone_to_not_a_person_nor_a_time() -> None:
    def last(text: str) -> str:
        return facts("Caroline", text)[-1]

    # "to" a person is no place; a participant never is
    assert last("I talked to Sarah about the trip. I'm going there next week.") == (
        "Caroline is going there next week (the week of 15 May 2023)."
    )
    assert last("I sent the package to you yesterday. I hope it arrives there safely before your party.") == (
        "Caroline hopes it arrives there safely before Melanie's party."
    )
    # a time is no place; where one went wins over where one came from
    assert last("I went to Lisbon at Christmas Eve. I loved the lights there.") == (
        "Caroline loved the lights there (Lisbon)."
    )
    assert last("I flew to Lisbon from Boston. I'm staying there with friends.") == (
        "Caroline is staying there (Lisbon) with friends."
    )
    assert last("I moved to New York last year. I love living there with my dog.") == (
        "Caroline loves living there (New York) with Caroline's dog."
    )


def test_there_of_no_place_is_left_as_said() -> None:
    assert name_there("Caroline is moving there soon", "Lisbon") == "Caroline is moving there (Lisbon) soon"
    assert name_there("moving there soon", r"C:\x") == r"moving there (C:\x) soon"  # a name, not a template
    for said in (
        "There is a museum and there are parks.",
        "Caroline will always be there for Melanie.",
        "It is tough out there for painters.",
        "Caroline was there for me.",
        "Caroline thinks there's so much to see.",
        "Caroline heard there isn't much parking and there might be a festival.",
        "Out there, life is slow.",
        "Caroline saw tiles here and there.",
    ):
        assert name_there(said, "Lisbon") == said


def test_a_quoted_title_keeps_its_closing_quote_and_a_quoted_question_is_no_fact() -> None:
    said = facts("Nate", 'My favorite book is "Little Women." Have you ever read the fantasy novel "Dune Messiah?"')
    assert any('"Little Women."' in fact for fact in said)
    assert not any("Dune" in fact for fact in said)
    # a statement that ends in a quoted title with a question mark still states
    assert facts("Nate", 'I loved the old comedy movie "What About Bob?" Then I slept.')[0].startswith("Nate loved")
