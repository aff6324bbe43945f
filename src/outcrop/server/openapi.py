"""The OpenAPI document, adjusted to say what the server really sends.

outcrop keeps times naive, in the conversation's own frame (see :mod:`outcrop.core.time.clock`), so
items carry ``2023-05-08T13:56:00``: ISO-8601 without a UTC offset. OpenAPI's ``date-time`` format
is RFC 3339, which requires the offset; the document therefore describes these fields as strings
with a pattern instead of claiming a format the values do not meet.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

__all__ = ["LOCAL_DATE_TIME", "install_openapi"]

LOCAL_DATE_TIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$"


def _local_times(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("format") == "date-time" and node.get("type") == "string":
            del node["format"]
            node["pattern"] = LOCAL_DATE_TIME
            node.setdefault("description", "ISO-8601 date-time without a UTC offset (the conversation's own clock)")
        for value in node.values():
            _local_times(value)
    elif isinstance(node, list):
        for value in node:
            _local_times(value)


def _json_errors(document: dict[str, Any]) -> None:
    """Errors are JSON on every route, also on one whose success is another media type (the
    JSONL export): FastAPI documents a route's error models with the route's own media type."""
    for path in document.get("paths", {}).values():
        for operation in path.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status[:1] in "45" and "application/json" not in content and len(content) == 1:
                    response["content"] = {"application/json": next(iter(content.values()))}


def install_openapi(app: FastAPI) -> None:
    """Build the document once, with naive date-times described as such and errors as JSON."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
            _local_times(document)
            _json_errors(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
