"""The real mem0 package, offline (tests/mem0_offline.py), for the shim's parity tests."""

from tests.mem0_offline import offline_mem0, real_mem0

__all__ = ["offline_mem0", "real_mem0"]
