"""Retrieval: query analysis, channels, fusion and context packing."""
