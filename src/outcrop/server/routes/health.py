"""``/v1/health``: liveness, without a key."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from fastapi import APIRouter
from pydantic import BaseModel

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["health"])


class Health(BaseModel):
    status: str
    version: str


def _version() -> str:
    try:
        return version("outcrop")
    except PackageNotFoundError:
        return "unknown"


@router.get("/health", response_model=Health)
def health() -> Health:
    return Health(status="ok", version=_version())
