"""A prompt is a module: a name, a version, a pydantic response schema and a ``messages`` builder.

The ``id`` (``"facts@1"``) goes into the ``producer`` of everything made with the prompt, with the
model id, so provenance says exactly which prompt version and model produced an item. Change the
wording or the schema of a prompt → bump its version.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

__all__ = ["Prompt", "compact_schema"]

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class Prompt(Generic[T]):
    name: str
    version: int
    response: type[T]

    @property
    def id(self) -> str:
        return f"{self.name}@{self.version}"

    def schema(self) -> dict[str, Any]:
        return _schema(self.response)

    def schema_text(self) -> str:
        """The schema as one compact line, for prompts sent to servers without structured output."""
        return json.dumps(self.schema(), separators=(",", ":"))


@functools.lru_cache(maxsize=64)
def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return compact_schema(model.model_json_schema())


def compact_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Inline ``$ref``s and drop titles: grammar converters and small models both do better."""
    defs = schema.get("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return walk(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {k: walk(v) for k, v in node.items() if k not in ("title", "$defs")}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    result: dict[str, Any] = walk(schema)
    return result
