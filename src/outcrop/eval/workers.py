"""Run evaluation cases in worker processes (``--jobs``), reporting progress to the parent, or as
Ray tasks (``--ray``), one case each.

Cases are independent (each has its own fresh store), so they parallelise without changing any
figure; workers are spawned, not forked, and each loads the embedder once. The longest cases
start first, and the default ONNX model runs on one thread per worker.
"""

from __future__ import annotations

import multiprocessing
import queue
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from outcrop.distributed.runner import run_each
from outcrop.errors import BulkWorkError

if TYPE_CHECKING:
    from outcrop import Embedder
    from outcrop.eval.cases import EvalCase, EvalQuestion
    from outcrop.eval.runner import ProgressSink, _CaseResult, _CaseTask

__all__ = ["in_workers", "on_ray"]

_messages: Any = None  # the worker's end of the progress queue


class _QueueSink:
    def start(self, case_id: str, questions: int) -> None:
        _messages.put(("start", case_id, questions))

    def advance(self, case_id: str, done: int) -> None:
        _messages.put(("advance", case_id, done))

    def finish(self, case_id: str) -> None:
        _messages.put(("finish", case_id, 0))


def _init(messages: Any) -> None:
    global _messages
    _messages = messages


def _worker_embedder(spec: str) -> Embedder | None:
    """The default ONNX model on one thread (loaded once per worker): the workers already use
    every core between them, and a second thread each would only contend (its vectors are
    bit-identical either way). Other embedders load as usual (None: ``Memory`` loads the
    configured one)."""
    if spec.partition(":")[0] != "minilm":
        return None
    from outcrop import load_embedder

    return load_embedder(spec, threads=1)


def _work(task: _CaseTask, number: int, case: EvalCase, questions: list[EvalQuestion]) -> _CaseResult:
    return task.run(number, case, questions, _worker_embedder(task.config.embedder), _QueueSink())


def _cost(case: EvalCase, questions: Sequence[EvalQuestion]) -> int:
    """A case's rough cost, to start the longest first: its turns are embedded and consolidated
    once, and each question runs about ten searches."""
    return sum(len(s.messages) for s in case.sessions) + 2 * len(questions)


def _drain(messages: Any, progress: ProgressSink | None) -> None:
    while True:
        try:
            kind, case_id, value = messages.get_nowait()
        except queue.Empty:
            return
        if progress is None:
            continue
        if kind == "start":
            progress.start(case_id, value)
        elif kind == "advance":
            progress.advance(case_id, value)
        else:
            progress.finish(case_id)


def in_workers(
    task: _CaseTask,
    plan: Sequence[tuple[int, EvalCase, list[EvalQuestion]]],
    jobs: int,
    progress: ProgressSink | None,
) -> list[_CaseResult]:
    """Run every planned case on ``jobs`` processes; results in plan order."""
    context = multiprocessing.get_context("spawn")
    messages = context.Queue()
    parts: dict[int, _CaseResult] = {}
    pool = ProcessPoolExecutor(
        max_workers=min(jobs, len(plan)), mp_context=context, initializer=_init, initargs=(messages,)
    )
    try:
        # Longest first, so the last case to finish is a short one and no worker idles long.
        ordered = sorted(plan, key=lambda entry: -_cost(entry[1], entry[2]))
        futures: dict[Future[_CaseResult], int] = {
            pool.submit(_work, task, number, case, questions): number for number, case, questions in ordered
        }
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            _drain(messages, progress)
            for future in done:
                parts[futures[future]] = future.result()
        pool.shutdown(wait=True)
        _drain(messages, progress)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        messages.close()
        messages.join_thread()
    return [parts[number] for number, _, _ in plan]


@dataclass(frozen=True)
class _RayCases:
    """The planned cases, run one per Ray task (by plan number); pickled once to the cluster."""

    task: _CaseTask
    plan: dict[str, tuple[int, EvalCase, list[EvalQuestion]]]

    def __call__(self, key: str) -> _CaseResult:
        number, case, questions = self.plan[key]
        return self.task.run(number, case, questions, _worker_embedder(self.task.config.embedder), None)


def on_ray(
    task: _CaseTask,
    plan: Sequence[tuple[int, EvalCase, list[EvalQuestion]]],
    address: str,
    progress: ProgressSink | None,
) -> list[_CaseResult]:
    """Run every planned case as a Ray task (longest first) on the cluster ``address`` names
    (:func:`outcrop.distributed.connect`); results in plan order. Each case's store is a SQLite
    file under the task's ``workdir``: on a cluster of several machines, a path each can write.
    Progress is reported per case, as each starts (all at once) and finishes."""
    keyed = {str(number): (number, case, questions) for number, case, questions in plan}
    ordered = sorted(keyed, key=lambda key: -_cost(keyed[key][1], keyed[key][2]))
    names = {key: keyed[key][1].case_id for key in keyed}
    if progress is not None:
        for key in ordered:
            progress.start(names[key], len(keyed[key][2]))
    sink = progress

    def finished(key: str) -> None:
        if sink is not None:
            sink.advance(names[key], len(keyed[key][2]))
            sink.finish(names[key])

    try:
        parts = run_each(_RayCases(task, keyed), ordered, ray=address, what="case", done=finished)
    except BulkWorkError as exc:  # the cases named by their ids, not by their places in the plan
        failures = {names[key]: error for key, error in exc.failures.items()}
        raise BulkWorkError("case", failures, {names[key]: part for key, part in exc.results.items()}) from None
    return [parts[str(number)] for number, _, _ in plan]
