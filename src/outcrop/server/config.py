"""Server configuration: one frozen object; the environment is read only in :meth:`ServerConfig.from_env`."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from outcrop.config import MemoryConfig
from outcrop.core.legacy import default_data_dir, with_current_names
from outcrop.core.threads import available_cores
from outcrop.core.validation import describe_errors
from outcrop.errors import ConfigError

__all__ = ["ServerConfig", "default_keys_path"]


def default_keys_path(store_url: str) -> Path:
    """Where API keys live when not configured: next to a SQLite store file (``memory.db`` →
    ``memory.keys.db``); for a server store, in the user data directory, one file per store
    (``server-keys-<digest>.db``, the digest of its URL without the password). Every server store
    used to share ``server-keys.db``: a key made for one store's server opened another's, and an
    idempotency key replayed one store's answer on the other. A server store finding only that file
    is refused (:class:`ConfigError`) rather than started with no keys."""
    if store_url.startswith("sqlite:///"):
        store = Path(store_url[len("sqlite:///") :])
        return store.with_name(store.stem + ".keys.db")
    if "://" not in store_url:
        store = Path(store_url)
        return store.with_name(store.stem + ".keys.db")
    folder = default_data_dir(marker="server-keys.db")
    path = folder / f"server-keys-{_store_digest(store_url)}.db"
    shared = folder / "server-keys.db"
    if shared.exists() and not path.exists():
        raise ConfigError(
            f"{shared} holds the keys every server store used to share; pass it as --keys (OUTCROP_KEYS) "
            f"for the store it belongs to, or move it to {path}"
        )
    return path


def _store_digest(store_url: str) -> str:
    """12 hex digits naming a store: its URL's scheme, user, host and port, and path (no password, no options)."""
    url = urlsplit(store_url)
    userinfo, _, host = url.netloc.rpartition("@")
    name = f"{url.scheme}://{userinfo.partition(':')[0]}@{host.lower()}{url.path}"
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:12]


class ServerConfig(BaseModel):
    """Everything that configures the REST server."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    memory: MemoryConfig = Field(default_factory=lambda: MemoryConfig())
    admin_key: SecretStr | None = Field(None, description="the key that creates tenants and API keys")
    key_pepper: SecretStr = Field(SecretStr(""), description="secret mixed into key digests (keep it out of the DB)")
    keys_path: Path | None = Field(None, description="SQLite file of tenants, hashed keys and idempotency records")
    max_body_bytes: int = Field(1 << 20, ge=1024, description="largest request body accepted (413 above)")
    threads: int = Field(16, ge=1, le=256, description="worker threads running memory operations")
    idempotency_ttl_s: int = Field(24 * 3600, ge=60, description="how long an Idempotency-Key is remembered")
    read_timeout_s: float = Field(
        30.0, gt=0, le=3600, description="a request must arrive whole (headers and body) within this (408 after)"
    )
    keep_alive_s: int = Field(5, ge=1, le=3600, description="an idle connection is closed after this")

    def for_workers(self, workers: int) -> ServerConfig:
        """This configuration for one of ``workers`` server processes: unless configured, each
        process's embedder gets its share of the cores (at least one thread), so N processes do not
        run N × cores ONNX threads on the same cores."""
        if workers <= 1 or self.memory.embedder_threads:
            return self
        threads = max(1, available_cores() // workers)
        return self.model_copy(update={"memory": self.memory.model_copy(update={"embedder_threads": threads})})

    @property
    def resolved_keys_path(self) -> Path:
        return self.keys_path or default_keys_path(self.memory.store)

    @classmethod
    def from_env(
        cls, env: dict[str, str] | None = None, *, memory: MemoryConfig | None = None, **overrides: Any
    ) -> ServerConfig:
        """Read ``OUTCROP_ADMIN_KEY``, ``OUTCROP_KEY_PEPPER``, ``OUTCROP_KEYS`` and ``OUTCROP_MAX_BODY_BYTES``;
        the memory part comes from :meth:`MemoryConfig.from_env` unless given."""
        env = with_current_names(os.environ if env is None else env)
        values: dict[str, Any] = {"memory": memory or MemoryConfig.from_env(env)}
        if env.get("OUTCROP_ADMIN_KEY"):
            values["admin_key"] = env["OUTCROP_ADMIN_KEY"]
        if env.get("OUTCROP_KEY_PEPPER"):
            values["key_pepper"] = env["OUTCROP_KEY_PEPPER"]
        if env.get("OUTCROP_KEYS"):
            values["keys_path"] = env["OUTCROP_KEYS"]
        if env.get("OUTCROP_MAX_BODY_BYTES"):
            values["max_body_bytes"] = env["OUTCROP_MAX_BODY_BYTES"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = describe_errors(exc.errors(), root="configuration")
            raise ConfigError(f"invalid server configuration: {problems}") from None
