"""The pydantic-ai adapter in real ``Agent`` runs whose model is pydantic-ai's ``FunctionModel``
over a local deterministic function (no network): the agent calls the memory tools, a
conversation's history persists across runs and processes, concurrent appends keep their order."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("pydantic_ai")

from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart, ToolReturnPart, UserPromptPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from outcrop import AsyncMemory, Memory, MemoryConfig
from outcrop.integrations.pydantic_ai import OutcropMessageHistory, memory_toolset
from outcrop.providers import Embedder

ROOT = Path(__file__).resolve().parents[2]


def scripted(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """The deterministic LLM step: "remember X" calls remember, a question calls recall, a tool's
    output is answered from, anything else is answered with what it sees of the history."""
    last = messages[-1].parts[-1]
    if isinstance(last, ToolReturnPart):
        return ModelResponse(parts=[TextPart(f"From the tool: {last.content}")])
    said = [p.content for m in messages for p in m.parts if isinstance(p, UserPromptPart)]
    text = str(said[-1])
    if text.startswith("remember "):
        return ModelResponse(parts=[ToolCallPart("remember", {"text": text.removeprefix("remember ")})])
    if text.endswith("?"):
        return ModelResponse(parts=[ToolCallPart("recall", {"query": text})])
    return ModelResponse(parts=[TextPart(f"{len(said)} user messages; the first: {said[0]}")])


def test_the_agent_remembers_and_recalls_through_the_toolset(tmp_path: Path, embedder: Embedder) -> None:
    async def main(memory: Memory) -> tuple[str, str, str]:
        agent = Agent(FunctionModel(scripted), toolsets=[memory_toolset(memory, user_id="ada")])
        noted = await agent.run("remember Ada keeps bees on the roof")
        found = await agent.run("Where does Ada keep bees?")
        other = Agent(FunctionModel(scripted), toolsets=[memory_toolset(memory, user_id="bob")])
        theirs = await other.run("Where does Ada keep bees?")
        return noted.output, found.output, theirs.output

    # run_sync would leave an event loop of its own unclosed (a ResourceWarning under pytest)
    with Memory(config=MemoryConfig(store=f"sqlite:///{tmp_path / 'm.db'}"), embedder=embedder) as memory:
        noted, found, theirs = asyncio.run(main(memory))
    assert noted.startswith("From the tool: remembered (")
    assert "Ada keeps bees on the roof" in found
    assert "bees" not in theirs.removeprefix("From the tool: ")  # bob's memory holds none of ada's


def test_a_conversation_persists_across_runs_and_processes(tmp_path: Path, embedder: Embedder) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"

    async def first() -> tuple[str, int]:
        async with AsyncMemory(config=MemoryConfig(store=url), embedder=embedder) as memory:
            history = OutcropMessageHistory(memory, user_id="ada")
            agent = Agent(FunctionModel(scripted), toolsets=[memory_toolset(memory, user_id="ada")])
            for prompt in ("My name is Ada.", "remember I like figs", "Hello again"):
                result = await agent.run(prompt, message_history=await history.load("c1"))
                await history.append("c1", result.new_messages())
            loaded = await history.load("c1")
            assert loaded == result.all_messages()  # the same messages back, every part and field
            assert len(await history.load("c1", limit=2)) == 2
            return str(result.output), len(loaded)

    output, count = asyncio.run(first())
    assert output == "3 user messages; the first: My name is Ada."
    child = textwrap.dedent(
        f"""
        import asyncio
        from pydantic_ai import Agent
        from pydantic_ai.models.function import FunctionModel
        from outcrop import AsyncMemory
        from outcrop.integrations.pydantic_ai import OutcropMessageHistory
        from tests.integrations.test_pydantic_ai import scripted

        async def main():
            async with AsyncMemory({url!r}) as memory:
                history = OutcropMessageHistory(memory, user_id="ada")
                result = await Agent(FunctionModel(scripted)).run("Still there", message_history=await history.load("c1"))
                await history.append("c1", result.new_messages())
                print(result.output)
                print(len(await history.load("c1")))
                await history.clear("c1")
                print(len(await history.load("c1")))

        asyncio.run(main())
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-3:] == [
        "4 user messages; the first: My name is Ada.",
        str(count + 2),
        "0",
    ]


def test_concurrent_appends_to_one_conversation_keep_every_message_in_call_order(
    tmp_path: Path, embedder: Embedder
) -> None:
    async def main() -> list[str]:
        config = MemoryConfig(store=f"sqlite:///{tmp_path / 'm.db'}")
        async with AsyncMemory(config=config, embedder=embedder) as memory:
            history = OutcropMessageHistory(memory)
            agent = Agent(FunctionModel(scripted))
            results = [await agent.run(f"message {i}") for i in range(12)]
            await asyncio.gather(*(history.append("c", r.new_messages()) for r in results))
            loaded = await history.load("c")
        return [str(p.content) for m in loaded for p in m.parts if isinstance(p, UserPromptPart)]

    assert asyncio.run(main()) == [f"message {i}" for i in range(12)]


def test_a_note_the_memory_refuses_goes_back_to_the_model_as_a_retry(tmp_path: Path, embedder: Embedder) -> None:
    """A note holding a NUL (or empty), as a model may write it, ended the whole run with
    InvalidInputError; the model now reads why and tries again (as for an argument of the wrong
    type)."""
    seen: list[str] = []

    def model(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        last = messages[-1].parts[-1]
        if isinstance(last, UserPromptPart):
            return ModelResponse(parts=[ToolCallPart("remember", {"text": "a\x00b"})])
        seen.append(str(last.content))
        if len(seen) == 1:
            return ModelResponse(parts=[ToolCallPart("remember", {"text": "a b"})])
        return ModelResponse(parts=[TextPart("done")])

    async def main(memory: Memory) -> str:
        agent = Agent(FunctionModel(model), toolsets=[memory_toolset(memory, user_id="ada")])
        return (await agent.run("remember this")).output

    with Memory(config=MemoryConfig(store=f"sqlite:///{tmp_path / 'm.db'}"), embedder=embedder) as memory:
        assert asyncio.run(main(memory)) == "done"
        assert [t.text for t in memory.list(user_id="ada", level="turn")] == ["a b"]
    assert "NUL character" in seen[0] and seen[1].startswith("remembered (")


def test_a_history_keeps_what_a_run_may_hold_and_refuses_what_is_not_a_message(
    tmp_path: Path, embedder: Embedder
) -> None:
    """A tool's output holding NUL and a blank reply round-trip (both were refused); a list of
    dicts is refused with our error (a raw AttributeError before)."""
    from pydantic_ai.messages import ModelRequest

    from outcrop.errors import InvalidInputError

    messages: list[ModelMessage] = [
        ModelRequest(parts=[UserPromptPart("read the file")]),
        ModelResponse(parts=[ToolCallPart("read", {"path": "a.bin"}, tool_call_id="t1")]),
        ModelRequest(parts=[ToolReturnPart("read", "bin\x00ary", tool_call_id="t1")]),
        ModelResponse(parts=[TextPart("\n")]),
    ]

    async def main() -> list[ModelMessage]:
        async with AsyncMemory(config=MemoryConfig(store=f"sqlite:///{tmp_path / 'm.db'}"), embedder=embedder) as m:
            history = OutcropMessageHistory(m)
            await history.append("c", messages)
            with pytest.raises(InvalidInputError, match="ModelMessage"):
                await history.append("c", [{"parts": []}])  # type: ignore[list-item]
            return await history.load("c")

    assert asyncio.run(main()) == messages
