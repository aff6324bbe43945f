"""Choose each stratum's producer from :class:`~memstrata.config.StrataConfig`: the zero-LLM one,
or the LLM one wrapped around it as its fallback."""

from __future__ import annotations

from dataclasses import dataclass

from memstrata.config import MemoryConfig
from memstrata.errors import ConfigError
from memstrata.llm.base import LLM
from memstrata.strata.base import EpisodeSummarizer, FactExtractor
from memstrata.strata.entities import default_recognizer
from memstrata.strata.episodes import CentralTurnsSummarizer
from memstrata.strata.facts import RuleFactExtractor

__all__ = ["Producers", "choose_producers"]


@dataclass(frozen=True)
class Producers:
    facts: FactExtractor | None = None  # None: the Consolidator's default (zero-LLM)
    episodes: EpisodeSummarizer | None = None


def choose_producers(config: MemoryConfig, llm: LLM | None) -> Producers:
    s = config.strata
    wanted = [name for name, choice in (("fact", s.fact_producer), ("episode", s.episode_producer)) if choice == "llm"]
    if not wanted:
        return Producers()
    if llm is None:
        raise ConfigError(
            f"strata.{wanted[0]}_producer is 'llm' but no LLM is configured "
            "(set llm.base_url and llm.model, or MEMSTRATA_LLM_BASE_URL and MEMSTRATA_LLM_MODEL)"
        )
    facts: FactExtractor | None = None
    episodes: EpisodeSummarizer | None = None
    if s.fact_producer == "llm":
        from memstrata.strata.llm_facts import LLMFactExtractor

        facts = LLMFactExtractor(llm, RuleFactExtractor(default_recognizer(s.ner)))
    if s.episode_producer == "llm":
        from memstrata.strata.llm_episodes import LLMEpisodeSummarizer

        episodes = LLMEpisodeSummarizer(llm, CentralTurnsSummarizer(s.episode_turns))
    return Producers(facts=facts, episodes=episodes)
