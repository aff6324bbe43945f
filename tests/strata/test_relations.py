"""Relations by rules: typed, dated, sourced, with negation, ends and cancelled plans."""

from __future__ import annotations

from datetime import datetime

from outcrop.core.payloads import DateRecord, FactPayload, RelationPayload
from outcrop.core.types import Item, Level, Scope
from outcrop.strata.derived import topic_item
from outcrop.strata.relations import RelationExtractor, RelationViews

PEOPLE = ["Audrey", "Andrew"]


def fact(
    n: int,
    session: str,
    speaker: str,
    text: str,
    entities: list[str] | None = None,
    dates: list[DateRecord] | None = None,
) -> Item:
    return Item(
        id=f"f_{n:02d}",
        level=Level.FACT,
        scope=Scope(user_id="u1", session_id=session),
        text=text,
        speaker=speaker,
        timestamp=datetime(2023, 3, n),
        metadata=FactPayload(entities=entities or [], dates=dates or []).to_metadata(),
        sources=[f"t_{n}"],
    )


def views(facts: list[Item]) -> dict[str, RelationPayload]:
    drafts = RelationViews().build(facts, PEOPLE)
    return {d.key: RelationPayload.of(topic_item(Scope(user_id="u1"), d, "test")) for d in drafts}


def test_pets_aggregate_per_owner_with_dates_sources_and_the_one_that_died() -> None:
    facts = [
        fact(1, "s1", "Audrey", "Audrey adopted a puppy named Pepper.", ["Pepper"]),
        fact(2, "s2", "Audrey", "Audrey: We got another puppy named Pixie.", ["Pixie"]),
        fact(3, "s2", "Audrey", "Panda, Audrey's dog, loves the beach.", ["Panda"]),
        fact(4, "s3", "Audrey", "Sadly Pepper passed away yesterday.", ["Pepper"]),
    ]
    drafts = {d.key: d for d in RelationViews().build(facts, PEOPLE)}
    owns = drafts["relation:Audrey:owns"]
    assert owns.text.startswith("Audrey — owns: dog: Pepper (since 1 March 2023, ended 4 March 2023), Pixie")
    entries = {e.object: e for e in views(facts)["relation:Audrey:owns"].entries}
    assert set(entries) == {"Pepper", "Pixie", "Panda"}
    assert entries["Pepper"].status == "ended" and entries["Pepper"].ended == "2023-03-04T00:00:00"
    assert entries["Pixie"].status == "asserted" and entries["Pixie"].sources == ["t_2"]
    assert entries["Pixie"].kind == "dog" and entries["Pixie"].first_seen == "2023-03-02T00:00:00"
    assert set(owns.sources) == {"t_1", "t_2", "t_3", "t_4"}


def test_negation_is_kept_as_negated_never_as_the_relation() -> None:
    facts = [
        fact(1, "s1", "Andrew", "Andrew doesn't own a dog."),
        fact(2, "s1", "Andrew", 'Andrew wouldn\'t recommend "Dune" to anyone.'),
        fact(3, "s2", "Andrew", 'Andrew recommended "The Hobbit" to Audrey.'),
        fact(4, "s2", "Audrey", "If Audrey adopted a cat named Tom, Audrey would be happy."),
    ]
    found = views(facts)
    [dog] = found["relation:Andrew:owns"].entries
    assert dog.status == "negated"
    books = {e.object: e.status for e in found["relation:Andrew:recommended"].entries}
    assert books == {'"Dune"': "negated", '"The Hobbit"': "asserted"}
    assert "relation:Audrey:owns" not in found  # a wish, not a pet


def test_a_recommendation_said_to_the_listener_is_the_speakers() -> None:
    found = views([fact(1, "s1", "Audrey", 'Andrew should read "The Hobbit".')])
    [entry] = found["relation:Audrey:recommended"].entries
    assert (entry.object, entry.to) == ('"The Hobbit"', "Andrew")


def test_plans_carry_their_time_and_a_cancellation_ends_them() -> None:
    april = DateRecord(
        phrase="next month", start="2023-04-01", end="2023-04-30", granularity="month", label="April 2023"
    )
    facts = [
        fact(
            1, "s1", "Andrew", "Andrew is going to visit Yellowstone next month (April 2023).", ["Yellowstone"], [april]
        ),
        fact(2, "s1", "Andrew", "Andrew plans to learn the guitar.", []),
        fact(3, "s2", "Andrew", "Andrew cancelled the Yellowstone trip because of the snow.", ["Yellowstone"]),
        fact(4, "s2", "Audrey", "Let's meet at the new café on Friday.", []),
    ]
    plans = {e.object: e for e in views(facts)["relation:Andrew:plans"].entries}
    assert plans["visit Yellowstone"].when == "2023-04-01T00:00:00"
    assert plans["visit Yellowstone"].status == "cancelled"
    assert plans["learn the guitar"].status == "asserted"
    assert "meet at the new café on Friday" in plans  # "let's": a plan of both
    assert "meet at the new café on Friday" in {e.object for e in views(facts)["relation:Audrey:plans"].entries}


def test_other_relations_work_visits_family_and_things_made() -> None:
    facts = [
        fact(1, "s1", "Andrew", "Andrew works at Google now.", ["Google"]),
        fact(2, "s1", "Andrew", "Andrew visited Rome last week.", ["Rome"]),
        fact(3, "s1", "Audrey", "Audrey's son Jake turned five.", ["Jake"]),
        fact(4, "s1", "Audrey", "He painted a picture of a sunset.", []),
        fact(5, "s1", "Audrey", "Audrey made a ceramic bowl in pottery class.", []),
    ]
    found = views(facts)
    assert [e.object for e in found["relation:Andrew:works_at"].entries] == ["Google"]
    assert [e.object for e in found["relation:Andrew:visited"].entries] == ["Rome"]
    assert [(e.kind, e.object) for e in found["relation:Audrey:family"].entries] == [("son", "Jake")]
    assert [e.object for e in found["relation:Jake:made"].entries] == ["a picture of a sunset"]  # "he" is Jake
    assert [e.object for e in found["relation:Audrey:made"].entries] == ["a ceramic bowl"]


def test_extraction_reports_what_pronouns_referred_to() -> None:
    facts = [
        fact(1, "s1", "Audrey", "Audrey adopted a puppy named Pepper.", ["Pepper"]),
        fact(2, "s1", "Audrey", "He is such a cuddle bug.", []),
        fact(3, "s2", "Audrey", "Audrey's pup loves the dog park.", []),
    ]
    mentions = RelationExtractor().extract(facts, PEOPLE).mentions
    assert mentions == {"f_02": ["Pepper"], "f_03": ["Pepper"]}


def test_their_names_are_names_the_pets_the_speaker_just_mentioned() -> None:
    facts = [
        fact(1, "s1", "Audrey", "Audrey got new collars for Audrey's dogs."),
        fact(2, "s1", "Audrey", "Audrey: Their names are Pepper, Precious and Panda.", ["Pepper", "Panda"]),
        fact(3, "s2", "Andrew", "Their names are Tom and Jerry.", ["Tom", "Jerry"]),  # no pets of his mentioned
    ]
    found = views(facts)
    assert [(e.kind, e.object) for e in found["relation:Audrey:owns"].entries] == [
        ("dog", "Panda"),
        ("dog", "Pepper"),
        ("dog", "Precious"),
    ]
    assert "relation:Andrew:owns" not in found


def test_an_unnamed_pet_said_as_a_possession_is_owned_and_named_ones_replace_it() -> None:
    facts = [
        fact(1, "s1", "Andrew", "Andrew's turtles always cheer Andrew up."),
        fact(2, "s2", "Audrey", "Audrey loves Andrew's turtles so much!"),
        fact(3, "s2", "Audrey", "Audrey got new collars for Audrey's dogs."),
        fact(4, "s2", "Audrey", "Audrey: Their names are Pepper and Panda.", ["Pepper", "Panda"]),
    ]
    found = views(facts)
    [turtles] = found["relation:Andrew:owns"].entries
    assert (turtles.kind, turtles.object, turtles.sources) == ("turtle", "a turtle", ["t_1", "t_2"])
    assert [e.object for e in found["relation:Audrey:owns"].entries] == ["Panda", "Pepper"]


def test_activities_without_an_article_with_family_and_by_place() -> None:
    facts = [
        fact(1, "s1", "Audrey", "Audrey went camping with Audrey's fam two weekends ago."),
        fact(2, "s1", "Audrey", "Audrey has been running farther to de-stress."),
        fact(3, "s2", "Audrey", "Here's a pic of Audrey's family camping at the beach."),
        fact(4, "s2", "Audrey", "Audrey: We even went on another camping trip in the forest."),
        fact(5, "s3", "Audrey", "Audrey is off to go swimming with the kids."),
        fact(6, "s3", "Andrew", "So Andrew is carving out time for playing Andrew's violin."),
    ]
    done = {e.object for e in views(facts)["relation:Audrey:does"].entries}
    assert done == {
        "camping with family",
        "running",
        "camping at the beach with family",
        "camping trip in the forest",
        "swimming with family",
    }
    assert [e.object for e in views(facts)["relation:Andrew:does"].entries] == ["violin"]


def test_where_an_activity_was_done_keeps_the_place_it_names() -> None:
    # LoCoMo's views read "volunteering at a homeless", "volunteering at a local" (conv-41)
    facts = [
        fact(1, "s1", "Audrey", "Audrey has been volunteering at a homeless shelter and it's really rewarding."),
        fact(2, "s2", "Audrey", "Audrey just started volunteering at a local dog shelter once a month."),
        fact(3, "s3", "Audrey", "Audrey went running in the park yesterday."),
        fact(4, "s4", "Audrey", "Audrey went swimming in the rain after school."),
    ]
    done = {e.object for e in views(facts)["relation:Audrey:does"].entries}
    assert done == {
        "volunteering at a homeless shelter",
        "volunteering at a local dog shelter",
        "running in the park",  # not "the park yesterday"
        "swimming in the rain",  # not "the rain after school"
    }


def test_sports_done_and_classes_started() -> None:
    facts = [
        fact(1, "s1", "Andrew", "Andrew is doing kickboxing and it's giving Andrew so much energy."),
        fact(2, "s1", "Andrew", "Andrew is off to do some taekwondo!"),
        fact(3, "s2", "Andrew", "Andrew started a weekend yoga class with a colleague - it's awesome!"),
        fact(4, "s2", "Andrew", "Andrew is doing great, thanks."),  # no sport: nothing done
    ]
    found = views(facts)
    assert [e.object for e in found["relation:Andrew:does"].entries] == ["kickboxing", "taekwondo"]
    assert [e.object for e in found["relation:Andrew:attended"].entries] == ["weekend yoga class"]


def test_a_gerund_that_names_no_pastime_is_no_activity() -> None:
    facts = [
        fact(1, "s1", "Audrey", "Audrey is going to call Andrew later."),
        fact(2, "s1", "Audrey", "Audrey was thinking about the trip."),
        fact(3, "s1", "Audrey", "Audrey loves being a mom."),
        fact(4, "s1", "Andrew", "Andrew loved reading as a kid."),
        # LoCoMo's "Maria — does: falling" ("Maria kept falling off")
        fact(5, "s2", "Audrey", "Even though Audrey kept falling off, it taught Audrey not to give up."),
        fact(6, "s2", "Audrey", "Audrey loves meeting new people."),
    ]
    assert "relation:Audrey:does" not in views(facts)
    assert [e.object for e in views(facts)["relation:Andrew:does"].entries] == ["reading"]  # not "d reading"


def test_an_activity_said_with_a_negation_is_negated() -> None:
    facts = [
        fact(1, "s1", "Andrew", "Andrew didn't go camping this year."),
        fact(2, "s1", "Andrew", "Andrew never went hiking."),
        fact(3, "s2", "Andrew", "Andrew went fishing with Andrew's dad."),
    ]
    entries = {e.object: e.status for e in views(facts)["relation:Andrew:does"].entries}
    assert entries == {"camping": "negated", "hiking": "negated", "fishing with family": "asserted"}
    assert views(facts)["relation:Andrew:does"].entries[0].object == "camping"


def test_a_plan_is_something_planned_said_without_its_adverbs_and_dangling_words() -> None:
    """What the views showed as plans (LoCoMo's conversations): "ttyl", "keep ya posted", "keep Tim
    updated", promises ("never forget it", "always remember the trip"), "definitely check out the
    café", and words cut after a conjunction or preposition ("film festivals and", "routes near");
    and what a review found of the first rule: a plan to see the other participant dropped, an
    adverb letting "be at the lake" through, "not go camping" as a plan."""
    said = [
        "Andrew will ttyl, gotta check out another shelter soon.",
        "Andrew will keep ya posted.",
        "Andrew will keep Audrey updated.",
        "Andrew will never forget it.",
        "Andrew will always remember the camping trip.",
        "Andrew will definitely check out the new café.",
        "Andrew is going to submit it to some film festivals and (fingers crossed) get noticed.",
        "Andrew will show Audrey the best bike routes near (his place).",
        "Andrew plans to learn the guitar.",
        "Andrew is going to go see Audrey next month.",
        "Andrew will let the team know about the sale.",
        "Andrew will keep in touch with the shelter.",
        "Andrew will probably be at the lake on Sunday.",
        "Andrew will definitely have a great time at the concert.",
        "Andrew will not go camping this year.",
        "Andrew will hopefully finish the novel.",
        "Andrew will make sure to keep Audrey updated.",
        "Andrew will make sure to spread the word about the adoption day.",
        "Andrew will reach out if Audrey needs more tips.",
        "Andrew will need some new hiking boots.",
        "Andrew will check it out.",
        "Andrew will keep that in mind.",
        "Andrew will remember them if Andrew ever grooms a poodle.",
        "Andrew will remember to book the flights.",
        "Andrew will need to renew the passport.",
        "Andrew will reach out to Audrey if Audrey needs more help.",
        "Andrew will keep all of these great tips in mind.",
    ]
    facts = [fact(n, "s1", "Andrew", text) for n, text in enumerate(said, start=1)]
    plans = {e.object for e in views(facts)["relation:Andrew:plans"].entries}
    assert plans == {
        "check out the new café",
        "submit it to some film festivals",
        "show Audrey the best bike routes",
        "learn the guitar",
        "go see Audrey",  # a plan with the other participant
        "finish the novel",
        "spread the word about the adoption day",  # "make sure to" left out, as an adverb
        "book the flights",  # "remember to" and "need to" open a plan; "remember them", "need boots" do not
        "renew the passport",
    }


def test_a_pet_makes_no_plans() -> None:
    """A dog's plans ("Pixie will tag along", LoCoMo) were listed beside its owner's."""
    facts = [
        fact(1, "s1", "Audrey", "Audrey adopted a dog named Pixie."),
        fact(2, "s1", "Audrey", "Pixie will tag along on the hike."),
        fact(3, "s1", "Audrey", "Audrey is going to take Pixie to the beach."),
    ]
    found = views(facts)
    assert "relation:Pixie:plans" not in found
    assert {e.object for e in found["relation:Audrey:plans"].entries} == {"take Pixie to the beach"}
    # a sister who shares a name with a dog, and a cat someone does not have, still plan
    facts = [
        fact(1, "s1", "Andrew", "Andrew's sister Luna is visiting.", ["Luna"]),
        fact(2, "s1", "Audrey", "Audrey adopted a dog named Luna."),
        fact(3, "s1", "Audrey", "Audrey doesn't have a cat named Milo."),
        fact(4, "s2", "Andrew", "Luna will visit Paris in May."),
        fact(5, "s2", "Audrey", "Milo will start a new job at the bank."),
    ]
    found = views(facts)
    assert {e.object for e in found["relation:Luna:plans"].entries} == {"visit Paris in May"}
    assert {e.object for e in found["relation:Milo:plans"].entries} == {"start a new job at the bank"}


def test_a_cancelled_camping_plan_is_a_cancelled_plan_and_no_activity() -> None:
    facts = [
        fact(1, "s1", "Andrew", "Andrew is going to go camping at the lake."),
        fact(2, "s2", "Andrew", "Andrew cancelled the camping trip because of the storm."),
    ]
    found = views(facts)
    [plan] = found["relation:Andrew:plans"].entries
    assert (plan.object, plan.status) == ("go camping at the lake", "cancelled")
    assert "relation:Andrew:does" not in found


def test_events_without_an_article_before_their_verb_and_of_the_subject() -> None:
    facts = [
        fact(1, "s1", "Andrew", "Yesterday Andrew chose to go to networking events to make things happen."),
        fact(2, "s1", "Audrey", "Last week Audrey went to an LGBTQ+ pride parade."),
        fact(3, "s2", "Audrey", "One special memory for Audrey was this pride parade Audrey went to a few weeks ago."),
        fact(4, "s2", "Audrey", "Audrey wanted to tell Andrew about Audrey's school event last week."),
        fact(5, "s3", "Andrew", "Andrew didn't go to the charity gala."),
    ]
    found = views(facts)
    assert {e.object: e.status for e in found["relation:Andrew:attended"].entries} == {
        "networking events": "asserted",
        "charity gala": "negated",
    }
    assert {e.object for e in found["relation:Audrey:attended"].entries} >= {
        "an LGBTQ+ pride parade",
        "pride parade",
        "school event",
    }


def test_places_that_are_no_names_things_bought_and_made_before_their_verb() -> None:
    facts = [
        fact(1, "s1", "Audrey", "Yesterday Audrey took the kids to the museum."),
        fact(2, "s1", "Audrey", "These figurines Audrey bought yesterday remind Audrey of family love."),
        fact(3, "s2", "Audrey", "Audrey's kids and Audrey just finished another painting."),
        fact(4, "s2", "Andrew", "The vase Andrew made is on the shelf."),
        fact(5, "s3", "Audrey", "Audrey is keen on counseling and mental health."),
    ]
    found = views(facts)
    assert [e.object for e in found["relation:Audrey:visited"].entries] == ["museum"]
    assert [e.object for e in found["relation:Audrey:bought"].entries] == ["figurines"]
    assert [e.object for e in found["relation:Audrey:made"].entries] == ["another painting"]
    assert [e.object for e in found["relation:Andrew:made"].entries] == ["vase"]
    assert [e.object for e in found["relation:Audrey:likes"].entries] == ["counseling"]


def test_competitions_won_titles_watched_and_titles_mentioned() -> None:
    facts = [
        fact(1, "s1", "Audrey", "Audrey won another regional video game tournament last week."),
        fact(2, "s1", "Audrey", "Audrey was in the final of a big Valorant tournament last Saturday."),
        fact(3, "s2", "Audrey", 'Audrey just watched "Little Women" and it was amazing!'),
        fact(4, "s2", "Andrew", 'Andrew: Thanks! "The Name of the Wind" is great.'),
        fact(5, "s3", "Andrew", "Andrew never won a chess tournament."),
        fact(6, "s3", "Andrew", 'Andrew is excited to watch this new show called "The Wheel of Time".'),
    ]
    found = views(facts)
    won = {e.object: e.status for e in found["relation:Audrey:attended"].entries}
    assert won == {"regional video game tournament": "asserted", "Valorant tournament": "asserted"}
    assert {e.object: e.status for e in found["relation:Andrew:attended"].entries} == {"chess tournament": "negated"}
    assert [e.object for e in found["relation:Audrey:watched"].entries] == ['"Little Women"']
    assert [e.object for e in found["relation:Andrew:watched"].entries] == ['"The Wheel of Time"']
    mentioned = [e.object for e in found["relation:Andrew:mentions"].entries]
    assert mentioned == ['"The Name of the Wind"', '"The Wheel of Time"']
    assert [e.sources for e in found["relation:Audrey:mentions"].entries] == [["t_3"]]
