"""The OpenAI Agents SDK adapter in real ``Runner.run`` calls whose model is a local deterministic
``Model`` (no network): a session's history persists across processes, the memory tools are
called by the agent and find what another session remembered, and the session behaves as the
SDK's own SQLiteSession does, call by call."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("agents")

from agents import Agent, RunConfig, Runner, SQLiteSession

from outcrop import AsyncMemory, MemoryConfig
from outcrop.integrations.openai_agents import OutcropSession, memory_tools
from outcrop.providers import Embedder
from tests.integrations.agents_model import ScriptedModel

ROOT = Path(__file__).resolve().parents[2]
RUN = RunConfig(tracing_disabled=True)


def _open(url: str, embedder: Embedder) -> AsyncMemory:
    return AsyncMemory(config=MemoryConfig(store=url), embedder=embedder)


def test_a_session_keeps_the_conversation_across_processes(tmp_path: Path, embedder: Embedder) -> None:
    url = f"sqlite:///{tmp_path / 'agent.db'}"

    async def first() -> str:
        async with _open(url, embedder) as memory:
            agent = Agent(name="assistant", model=ScriptedModel())
            session = OutcropSession("chat-1", memory, user_id="ada")
            await Runner.run(agent, "My name is Ada and I build looms.", session=session, run_config=RUN)
            result = await Runner.run(agent, "Good morning", session=session, run_config=RUN)
            return str(result.final_output)

    assert asyncio.run(first()) == "2 user messages; the first: My name is Ada and I build looms."
    child = textwrap.dedent(
        f"""
        import asyncio
        from agents import Agent, RunConfig, Runner
        from outcrop import AsyncMemory
        from outcrop.integrations.openai_agents import OutcropSession
        from tests.integrations.agents_model import ScriptedModel

        async def main():
            async with AsyncMemory({url!r}) as memory:
                session = OutcropSession("chat-1", memory, user_id="ada")
                agent = Agent(name="assistant", model=ScriptedModel())
                result = await Runner.run(agent, "Still there", session=session, run_config=RunConfig(tracing_disabled=True))
                print(result.final_output)
                print(len(await session.get_items()))

        asyncio.run(main())
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    reply, count = done.stdout.strip().splitlines()[-2:]
    assert reply == "3 user messages; the first: My name is Ada and I build looms."
    assert count == "6"  # three user messages, three answers


def test_the_agent_remembers_with_a_tool_and_recalls_in_another_session(tmp_path: Path, embedder: Embedder) -> None:
    async def main() -> tuple[str, str, list[str]]:
        async with _open(f"sqlite:///{tmp_path / 'agent.db'}", embedder) as memory:
            agent = Agent(name="assistant", model=ScriptedModel(), tools=memory_tools(memory, user_id="ada"))
            noted = await Runner.run(
                agent,
                "remember Ada is allergic to peanuts",
                session=OutcropSession("s1", memory, user_id="ada"),
                run_config=RUN,
            )
            found = await Runner.run(
                agent, "What is Ada allergic to?", session=OutcropSession("s2", memory, user_id="ada"), run_config=RUN
            )
            other = Agent(name="assistant", model=ScriptedModel(), tools=memory_tools(memory, user_id="bob"))
            theirs = await Runner.run(other, "What is Ada allergic to?", run_config=RUN)
            kinds = [i.get("type", "message") for i in await OutcropSession("s2", memory, user_id="ada").get_items()]
            assert "peanuts" not in str(theirs.final_output)  # bob's memory holds nothing of ada's
            return str(noted.final_output), str(found.final_output), kinds

    noted, found, kinds = asyncio.run(main())
    assert noted.startswith("From the tool: remembered (")
    assert found.startswith("From the tool:") and "Ada is allergic to peanuts" in found
    assert kinds == ["message", "function_call", "function_call_output", "message"]


async def _script(session: Any) -> list[Any]:
    out: list[Any] = []
    out.append(await session.get_items())
    out.append(await session.pop_item())
    await session.add_items([{"role": "user", "content": "hello"}, {"role": "assistant", "content": "hi there"}])
    await session.add_items([{"role": "user", "content": "hello"}])  # the same words again: a new item
    await session.add_items(
        [
            {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": '{"q": "x"}'},
            {"type": "function_call_output", "call_id": "c1", "output": "42"},
        ]
    )
    # what a model or a tool may well produce: a blank reply, an output holding NUL (both were refused)
    await session.add_items([{"role": "assistant", "content": "\n"}])
    await session.add_items([{"type": "function_call_output", "call_id": "c2", "output": "bin\x00ary"}])
    out.append(await session.get_items())
    out.append(await session.get_items(limit=2))
    out.append(await session.get_items(limit=0))
    out.append(await session.get_items(limit=-1))  # the SDK's SQLiteSession: all of them
    out.append(await session.pop_item())
    out.append(await session.get_items())
    await session.clear_session()
    out.append(await session.get_items())
    out.append(await session.pop_item())
    return out


def test_the_session_behaves_as_the_sdks_own_sqlite_session(tmp_path: Path, embedder: Embedder) -> None:
    async def main() -> tuple[list[Any], list[Any]]:
        expected = await _script(SQLiteSession("s", str(tmp_path / "sdk.db")))
        async with _open(f"sqlite:///{tmp_path / 'outcrop.db'}", embedder) as memory:
            return expected, await _script(OutcropSession("s", memory))

    expected, got = asyncio.run(main())
    assert got == expected


def test_concurrent_add_items_to_one_session_keep_every_item_in_call_order(tmp_path: Path, embedder: Embedder) -> None:
    async def main() -> list[Any]:
        async with _open(f"sqlite:///{tmp_path / 'outcrop.db'}", embedder) as memory:
            session = OutcropSession("s", memory)
            await asyncio.gather(*(session.add_items([{"role": "user", "content": f"m{i}"}]) for i in range(20)))
            return await session.get_items()

    assert [i["content"] for i in asyncio.run(main())] == [f"m{i}" for i in range(20)]


def test_a_session_reads_and_removes_only_its_own_items(tmp_path: Path, embedder: Embedder) -> None:
    """A turn the application added to the same user and session, and a session of the same id
    kept by an agent: neither is the agent-less session's item. They used to be listed, popped
    (a foreign turn deleted, then a raw KeyError) and cleared with it."""

    async def main() -> tuple[list[Any], Any, list[Any], list[str], list[Any]]:
        async with _open(f"sqlite:///{tmp_path / 'outcrop.db'}", embedder) as memory:
            mine = OutcropSession("chat-1", memory, user_id="ada")
            bots = OutcropSession("chat-1", memory, user_id="ada", agent_id="sales-bot")
            await mine.add_items([{"role": "user", "content": "hello"}])
            await bots.add_items([{"role": "user", "content": "sales conversation"}])
            await memory.add("Customer asked for a refund of order 1234", user_id="ada", session_id="chat-1")
            listed = await mine.get_items(limit=1)
            popped = [await mine.pop_item(), await mine.pop_item()]
            await mine.add_items([{"role": "user", "content": "again"}])
            await mine.clear_session()
            left = [t.text for t in await memory.list(user_id="ada", session_id="chat-1", level="turn")]
            return listed, popped, await mine.get_items(), left, await bots.get_items()

    listed, popped, after, left, theirs = asyncio.run(main())
    assert listed == [{"role": "user", "content": "hello"}]
    assert popped == [{"role": "user", "content": "hello"}, None]
    assert after == []
    assert sorted(left) == ["Customer asked for a refund of order 1234", "sales conversation"]
    assert theirs == [{"role": "user", "content": "sales conversation"}]
