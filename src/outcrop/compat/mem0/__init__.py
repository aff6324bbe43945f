"""mem0's Python API over outcrop: change ``from mem0 import Memory`` to
``from outcrop.compat.mem0 import Memory`` (docs/integrations/mem0.md)."""

from outcrop.compat.mem0.async_memory import AsyncMemory
from outcrop.compat.mem0.errors import Mem0CompatWarning, MemoryNotFoundError
from outcrop.compat.mem0.memory import Memory

__all__ = ["AsyncMemory", "Mem0CompatWarning", "Memory", "MemoryNotFoundError"]
