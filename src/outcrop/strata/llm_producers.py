"""Choose each stratum's producer from :class:`~outcrop.config.StrataConfig`: the zero-LLM one,
or the LLM one wrapped around it as its fallback."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from outcrop.config import MemoryConfig
from outcrop.errors import ConfigError
from outcrop.llm.base import LLM
from outcrop.strata.base import EpisodeSummarizer, FactExtractor, ProfileBuilder, SlotJudge, TopicClusterer
from outcrop.strata.entities import default_recognizer
from outcrop.strata.episodes import CentralTurnsSummarizer
from outcrop.strata.facts import RuleFactExtractor
from outcrop.strata.profile import SlotProfile
from outcrop.strata.topics import EntityAwareTopics

__all__ = ["Producers", "choose_producers"]


@dataclass(frozen=True)
class Producers:
    facts: FactExtractor | None = None  # None: the Consolidator's default (zero-LLM)
    episodes: EpisodeSummarizer | None = None
    topics: TopicClusterer | None = None
    profile: ProfileBuilder | None = None
    slot_judge: SlotJudge | None = None

    def chosen(self) -> dict[str, Any]:
        """Keyword arguments for :class:`~outcrop.strata.consolidate.Consolidator`."""
        return dict(vars(self))


def choose_producers(config: MemoryConfig, llm: LLM | None) -> Producers:
    s = config.strata
    choices = (
        ("fact_producer", s.fact_producer),
        ("episode_producer", s.episode_producer),
        ("topic_producer", s.topic_producer),
        ("profile_producer", s.profile_producer),
        ("slot_judge", s.slot_judge),
    )
    wanted = [name for name, choice in choices if choice == "llm"]
    if not wanted:
        return Producers()
    if llm is None:
        raise ConfigError(
            f"strata.{wanted[0]} is 'llm' but no LLM is configured "
            "(set llm.base_url and llm.model, or OUTCROP_LLM_BASE_URL and OUTCROP_LLM_MODEL)"
        )
    facts: FactExtractor | None = None
    episodes: EpisodeSummarizer | None = None
    topics: TopicClusterer | None = None
    profile: ProfileBuilder | None = None
    judge: SlotJudge | None = None
    if s.fact_producer == "llm":
        from outcrop.strata.llm_facts import LLMFactExtractor

        facts = LLMFactExtractor(llm, RuleFactExtractor(default_recognizer(s.ner)))
    if s.episode_producer == "llm":
        from outcrop.strata.llm_episodes import LLMEpisodeSummarizer

        episodes = LLMEpisodeSummarizer(llm, CentralTurnsSummarizer(s.episode_turns))
    if s.topic_producer == "llm":
        from outcrop.strata.llm_topics import LLMTopicLabeler

        rules = EntityAwareTopics(s.topic_similarity, s.topic_min_facts, s.topic_facts_shown)
        topics = LLMTopicLabeler(llm, rules)
    if s.profile_producer == "llm":
        from outcrop.strata.llm_profile import LLMProfileReflector

        profile = LLMProfileReflector(llm, SlotProfile(s.profile_values))
    if s.slot_judge == "llm":
        from outcrop.strata.llm_slots import LLMSlotJudge

        judge = LLMSlotJudge(llm)
    return Producers(facts=facts, episodes=episodes, topics=topics, profile=profile, slot_judge=judge)
