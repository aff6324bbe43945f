"""Every query parameter of the ``/v1`` API is a single value: a repeated one
(``?user_id=a&user_id=b``) is refused with 422 instead of silently taking one of them, so a
request can never be read with a scope other than the one its sender meant. A parameter the route
does not take (``?user=bob`` for ``user_id``, ``?limt=5``) is refused with 422 too, as an unknown
field of a body is: ignored, it read the default user's memories instead of bob's, or the default limit."""

from __future__ import annotations

from collections import Counter
from urllib.parse import parse_qsl, unquote_to_bytes

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from outcrop.server.errors import error_response

__all__ = ["SingleQueryValuesMiddleware", "known_query_parameters"]


_TAKEN: dict[int, frozenset[str]] = {}  # id of a route (routes live as long as the app) -> what it takes


def _taken(route: APIRoute) -> frozenset[str]:
    """The query parameters ``route`` reads, its dependencies' included (by their names on the wire)."""
    taken = _TAKEN.get(id(route))
    if taken is None:
        taken = _TAKEN[id(route)] = frozenset(_query_names(route.dependant))
    return taken


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


async def known_query_parameters(request: Request) -> None:
    """A dependency of every route (async: no worker thread for it): refuse a query parameter the route does not take."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    unknown = sorted(set(request.query_params) - _taken(route))
    if unknown:
        allowed = ", ".join(sorted(_taken(route))) or "none"
        message = f"unknown query parameter (this route takes: {allowed})"
        raise RequestValidationError([{"type": "extra_forbidden", "loc": ("query", unknown[0]), "msg": message}])


class SingleQueryValuesMiddleware:
    """Refuses, before routing, a repeated query parameter and a path or query that is not UTF-8
    once percent-decoded (``%ff`` became U+FFFD and was used as given: an id or a user name the
    sender never wrote)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refused = _refusal(scope)
            if refused is not None:
                await error_response(422, "validation_error", refused)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _refusal(scope: Scope) -> str | None:
    raw_path = scope.get("raw_path")
    if raw_path:
        try:
            unquote_to_bytes(raw_path).decode("utf-8")
        except UnicodeDecodeError:
            return "the path is not UTF-8 once percent-decoded"
    if not scope.get("query_string"):
        return None
    query = scope["query_string"].decode("latin-1")
    try:
        pairs = parse_qsl(query, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        return "the query string is not UTF-8 once percent-decoded"
    counts = Counter(name for name, _ in pairs)
    repeated = sorted(name for name, n in counts.items() if n > 1)
    if repeated:
        return f"query parameter {repeated[0]!r} is given more than once"
    return None
