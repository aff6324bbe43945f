"""A prompt is a module: a name, a version, a pydantic response schema and a ``messages`` builder.

The ``id`` (``"facts@4"``) goes into the ``producer`` of everything made with the prompt, with the
model id, so provenance says exactly which prompt version and model produced an item. Change the
wording or the schema of a prompt → bump its version.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel

__all__ = ["ModelText", "Prompt", "compact_schema", "printable"]

_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


def printable(text: str) -> str:
    """A model's text as a memory may hold it: control characters (NUL, escape sequences) and lone
    surrogates, which callers' text may not hold either, each a space (newlines and tabs stay)."""
    return _UNPRINTABLE.sub(" ", text)


ModelText = Annotated[str, AfterValidator(printable)]
"""A string field of a model's reply, made :func:`printable` as it is read."""

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


# Titles only cost tokens; string length bounds make grammar converters explode (llama.cpp turns
# maxLength=2000 into 2000 nested optional rules and its server crashes): pydantic checks them.
_DROPPED = ("title", "$defs", "minLength", "maxLength")


@functools.lru_cache(maxsize=64)
def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return compact_schema(model.model_json_schema())


def compact_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Inline ``$ref``s, drop titles and string length bounds: grammar converters and small models
    both do better (the reply is still validated against the full pydantic model)."""
    defs = schema.get("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return walk(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {k: walk(v) for k, v in node.items() if k not in _DROPPED}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    result: dict[str, Any] = walk(schema)
    return result
