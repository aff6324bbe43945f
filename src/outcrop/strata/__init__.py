"""The strata above verbatim turns: facts, episodes, topics and profiles, and their producers."""
