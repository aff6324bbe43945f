"""Domain types, ids, time handling and text utilities shared by every layer."""
