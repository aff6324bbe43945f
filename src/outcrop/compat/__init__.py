"""Compatibility faces: other memory libraries' APIs over outcrop's engine.

``outcrop.compat.mem0`` speaks mem0's ``Memory``/``AsyncMemory`` API (docs/integrations/mem0.md).
A face like the servers: it uses :mod:`outcrop.api` and nothing of outcrop imports it.
"""
