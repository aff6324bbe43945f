"""Every error the server returns has one JSON shape, ``{"error": {"code", "message"}}``, set in one
place: this module maps outcrop's exception tree, request validation and HTTP errors to it."""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from outcrop.core.validation import describe_errors
from outcrop.errors import (
    ConfigError,
    InvalidInputError,
    NotFoundError,
    OutcropError,
    ProviderError,
    StoreError,
    WriteConflict,
)

__all__ = [
    "ERROR_RESPONSES",
    "ApiError",
    "ErrorBody",
    "ErrorResponse",
    "UnexpectedErrors",
    "error_response",
    "install_error_handlers",
]

log = logging.getLogger("outcrop.server")

# Most specific first.
STATUS: list[tuple[type[OutcropError], int]] = [
    (NotFoundError, 404),
    (InvalidInputError, 422),
    (WriteConflict, 409),
    (StoreError, 503),
    (ProviderError, 503),
    (ConfigError, 500),
    (OutcropError, 400),
]

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    500: "internal_error",
    503: "unavailable",
}


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


def _doc(description: str) -> dict[str, Any]:
    return {"model": ErrorResponse, "description": description}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _doc("the request body cannot be parsed (not UTF-8 JSON)"),
    401: _doc("missing or invalid API key"),
    404: _doc("no such item in the caller's tenant"),
    413: _doc("request body too large"),
    422: _doc("invalid request"),
    503: _doc("the store or the embedding model failed"),
}


class ApiError(Exception):
    """An HTTP error raised by the server's own code."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(code=code, message=message))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


@cache
def _model_names() -> frozenset[str]:
    from outcrop.server.schemas import requests

    return frozenset(
        name for name, value in vars(requests).items() if isinstance(value, type) and issubclass(value, BaseModel)
    )


def _validation_message(exc: RequestValidationError) -> str:
    """Each place the request is wrong, in the request's own words (core/validation.py)."""
    errors = exc.errors()
    if len(errors) == 1 and tuple(errors[0].get("loc", ())) == ("body",) and errors[0].get("type") != "missing":
        return "the request body must be a JSON object (send Content-Type: application/json)"
    return describe_errors(errors, root="body", skip=("body",), model_names=_model_names())


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(OutcropError)
    async def _outcrop(_: Request, exc: OutcropError) -> JSONResponse:
        status = next(code for kind, code in STATUS if isinstance(exc, kind))
        if status >= 500:
            log.error("request failed: %s: %s", type(exc).__name__, exc)
        return error_response(status, exc.code, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "validation_error", _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))

    app.add_middleware(UnexpectedErrors)  # added last: the outermost of the app's own middleware


class UnexpectedErrors:
    """An unexpected exception becomes a JSON 500 and the connection stays usable.

    Starlette's handler for ``Exception`` sends its response and then raises the exception again
    (for the server to log), and uvicorn closes a connection whose request raised after its
    response started: the client of a keep-alive connection lost it with every 500. Here the
    exception is logged and answered, and goes no further. A response already started cannot be
    mended; that one still ends the connection."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except ClientDisconnect:
            return  # the client is gone: nobody to answer
        except Exception as exc:
            log.exception("unexpected error", exc_info=exc)
            if started:
                raise
            await error_response(500, "internal_error", "internal server error")(scope, receive, send)
