"""A JSON request body names each key once: ``{"user_id": "a", "user_id": "b"}`` is refused with 422
instead of read as its last value (another reader, a proxy or a log, would read the first), as a
repeated query parameter is (``server/query_params.py``): a request is never read with a scope
other than the one its sender meant."""

from __future__ import annotations

import json

from fastapi import Request

from outcrop.core.jsontext import RepeatedKeyError, unique_keys
from outcrop.server.errors import ApiError

__all__ = ["one_value_per_key"]


async def one_value_per_key(request: Request) -> None:
    """A dependency of every route (async: no worker thread for it): refuse a JSON body that names
    a key twice in one object. Runs after FastAPI has read the body as JSON (a body that is not
    JSON was answered before), so it reads the cached bytes."""
    content_type = request.headers.get("content-type", "")
    if request.method in ("GET", "HEAD") or "json" not in content_type.partition(";")[0].lower():
        return
    body = await request.body()
    if not body:
        return
    try:
        json.loads(body, object_pairs_hook=unique_keys)
    except RepeatedKeyError as exc:
        raise ApiError(422, "validation_error", f"body: {exc}; send each key once") from None
    except (ValueError, RecursionError):  # not JSON: FastAPI's own answer stands
        return
