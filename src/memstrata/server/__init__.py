"""The REST server (``memstrata serve``): multi-tenant ``/v1`` API over :class:`memstrata.Memory`.

Needs the ``server`` extra: ``pip install "memstrata[server]"``.
"""

from memstrata.server.app import create_app
from memstrata.server.config import ServerConfig

__all__ = ["ServerConfig", "create_app"]
