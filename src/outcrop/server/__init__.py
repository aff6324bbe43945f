"""The REST server (``outcrop serve``): multi-tenant ``/v1`` API over :class:`outcrop.Memory`.

Needs the ``server`` extra: ``pip install ".[server]"`` from a clone.
"""

from outcrop.server.app import create_app
from outcrop.server.config import ServerConfig

__all__ = ["ServerConfig", "create_app"]
