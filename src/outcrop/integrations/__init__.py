"""Adapters that plug outcrop into agent frameworks, each behind its own extra.

- :mod:`outcrop.integrations.langgraph`: a LangGraph ``BaseStore`` (``pip install ".[langgraph]"``)
- :mod:`outcrop.integrations.openai_agents`: an OpenAI Agents SDK ``Session`` and memory tools
  (``".[openai-agents]"``)
- :mod:`outcrop.integrations.pydantic_ai`: a pydantic-ai toolset and persisted message history
  (``".[pydantic-ai]"``)

Importing a module without its framework installed raises :class:`~outcrop.errors.ConfigError`
naming the extra.
"""
