"""A local, deterministic Agents SDK ``Model``: the LLM step of the tests' real ``Runner.run``.

"remember X" calls the ``remember`` tool; a question calls ``recall``; after a tool's output it
answers from it; anything else is answered with what it sees of the conversation's history (how
many user messages, the first one), which is how the tests see a session's memory."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from agents import Model, ModelResponse, Usage
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText


def _message(text: str, n: int) -> ResponseOutputMessage:
    return ResponseOutputMessage(
        id=f"msg_{n}",
        type="message",
        role="assistant",
        status="completed",
        content=[ResponseOutputText(type="output_text", text=text, annotations=[])],
    )


def _call(name: str, arguments: dict[str, str], n: int) -> ResponseFunctionToolCall:
    return ResponseFunctionToolCall(
        id=f"fc_{n}", call_id=f"call_{n}", type="function_call", name=name, arguments=json.dumps(arguments)
    )


def _user_texts(items: list[Any]) -> list[str]:
    texts = []
    for item in items:
        if isinstance(item, dict) and item.get("role") == "user":
            content = item["content"]
            texts.append(content if isinstance(content, str) else " ".join(p.get("text", "") for p in content))
    return texts


class ScriptedModel(Model):
    def __init__(self) -> None:
        self.calls = 0
        self.inputs: list[list[Any]] = []

    async def get_response(self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any) -> ModelResponse:
        self.calls += 1
        items = [{"role": "user", "content": input}] if isinstance(input, str) else list(input)
        self.inputs.append(items)
        last = items[-1]
        if isinstance(last, dict) and last.get("type") == "function_call_output":
            output = [_message(f"From the tool: {last['output']}", self.calls)]
        else:
            users = _user_texts(items)
            said = users[-1]
            if said.startswith("remember "):
                output = [_call("remember", {"text": said.removeprefix("remember ")}, self.calls)]
            elif said.endswith("?"):
                output = [_call("recall", {"query": said}, self.calls)]
            else:
                output = [_message(f"{len(users)} user messages; the first: {users[0]}", self.calls)]
        return ModelResponse(output=list(output), usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        raise NotImplementedError("the tests run without streaming")
