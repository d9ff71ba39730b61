"""Running the model's function calls: a small named worker pool with time limits.

Private (since 0.3): sessions run their tools here; :mod:`realtime_client.tools`
re-exports :class:`ToolResult`.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final, final

import attrs

from . import events as ev
from ._tool_schema import ArgumentError
from ._turns import FunctionCall

if TYPE_CHECKING:
    from .tools import Tool, ToolRegistry

__all__ = ["ToolBatch", "ToolResult", "ToolRunner"]

_log = logging.getLogger("realtime_client")
_thread_numbers = itertools.count(1)
_STOP: Final = object()


def error_output(message: str) -> str:
    """The output the model receives when a call failed: ``{"error": message}``."""
    return json.dumps({"error": message})


@final
@attrs.frozen(kw_only=True)
class ToolResult:
    """The outcome of one function call: always an output for the model.

    Args:
        call: The call.
        output: The text sent to the model as the ``function_call_output``. A
            ``str`` the function returned is sent as is; any other value as JSON.
        error: What went wrong, or ``None`` when the function returned normally;
            ``output`` is then ``{"error": error}`` as JSON.
        follow_up: Whether this call asks for a new response (the tool's
            setting; ``True`` for every failure, so the model hears of it).
        duration: Seconds from submission to the result.

    .. versionadded:: 0.2
    """

    call: FunctionCall
    output: str
    error: str | None = None
    follow_up: bool = True
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the function returned normally."""
        return self.error is None

    def output_item(self) -> ev.FunctionCallOutputItem:
        """The ``function_call_output`` item that answers the call."""
        return ev.FunctionCallOutputItem(call_id=self.call.call_id, output=self.output)


@final
class ToolBatch:
    """The function calls of one response, answered together.

    Made by :meth:`ToolRunner.submit`. It is done when every call has a result,
    which is guaranteed within the calls' time limits. Then :meth:`events`
    gives what to send: one ``conversation.item.create`` per call (in call
    order) and, unless every tool opted out, one ``response.create``.

    Contract: any thread may wait on or read a batch. Done-callbacks run once,
    on the thread that finished the last call (a worker, the time-limit
    watcher, or the caller of :meth:`add_done_callback` if the batch is already
    done); they must not block. An exception in a callback is logged and does
    not affect the batch.

    .. versionadded:: 0.2
    """

    def __init__(self, calls: tuple[FunctionCall, ...]) -> None:
        self._calls = calls
        self._lock = threading.Lock()
        self._results: list[ToolResult | None] = [None] * len(calls)
        self._remaining = len(calls)
        self._done = threading.Event()
        self._callbacks: list[Callable[[ToolBatch], None]] = []
        if not calls:
            self._done.set()

    @property
    def calls(self) -> tuple[FunctionCall, ...]:
        """The calls, in the order given."""
        return self._calls

    def done(self) -> bool:
        """Whether every call has its result."""
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the batch is done, or ``timeout`` seconds pass.

        Returns:
            Whether the batch is done.
        """
        return self._done.wait(timeout)

    @property
    def results(self) -> tuple[ToolResult, ...]:
        """The results, in call order.

        Raises:
            RuntimeError: The batch is not done yet; :meth:`wait` first.
        """
        if not self._done.is_set():
            raise RuntimeError("the batch is not done yet: wait() for it first")
        return tuple(r for r in self._results if r is not None)

    @property
    def follow_up(self) -> bool:
        """Whether to ask for a new response: ``False`` only when every call's tool opted out."""
        return any(result.follow_up for result in self.results)

    def events(self) -> list[ev.ConversationItemCreateEvent | ev.ResponseCreateEvent]:
        """What to send: the outputs in call order, then ``response.create`` if :attr:`follow_up`.

        Raises:
            RuntimeError: The batch is not done yet.
        """
        sent: list[ev.ConversationItemCreateEvent | ev.ResponseCreateEvent] = [
            ev.ConversationItemCreateEvent(item=result.output_item()) for result in self.results
        ]
        if self._calls and self.follow_up:
            sent.append(ev.ResponseCreateEvent())
        return sent

    def add_done_callback(self, callback: Callable[[ToolBatch], None]) -> None:
        """Call ``callback(batch)`` once the batch is done (at once if it is already)."""
        with self._lock:
            if not self._done.is_set():
                self._callbacks.append(callback)
                return
        _run_callback(callback, self)

    def _resolve(self, index: int, result: ToolResult) -> bool:
        with self._lock:
            if self._results[index] is not None:
                return False
            self._results[index] = result
            self._remaining -= 1
            if self._remaining:
                return True
            self._done.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            _run_callback(callback, self)
        return True

    def _resolved(self, index: int) -> bool:
        with self._lock:
            return self._results[index] is not None


def _run_callback(callback: Callable[[ToolBatch], None], batch: ToolBatch) -> None:
    try:
        callback(batch)
    except Exception:
        _log.exception("a tool batch callback raised")


class _Job:
    """One call waiting for, or running on, a worker."""

    __slots__ = ("batch", "call", "deadline", "index", "running", "started", "timeout", "tool")

    def __init__(
        self, batch: ToolBatch, index: int, call: FunctionCall, tool: Tool, timeout: float
    ) -> None:
        self.batch = batch
        self.index = index
        self.call = call
        self.tool = tool
        self.timeout = timeout
        self.started = time.monotonic()
        self.deadline = self.started + timeout
        self.running = False


@final
class ToolRunner:
    """Runs function calls on a small pool of named worker threads, with time limits.

    Contract: the session calls :meth:`submit` (from any thread, typically its
    reader on ``response.done``) with the function calls of one response and
    gets a :class:`ToolBatch`, which it answers when done. ``submit`` never
    raises and never blocks on a tool. Each call gets an output: the function's
    return value, or an error output (``{"error": "..."}``) for an unknown tool,
    arguments that are not a JSON object or do not fit the signature, an
    exception, or a call still running at its time limit (measured from
    submission). :meth:`close` is idempotent, callable from any thread, and
    bounded in time.

    Threads: up to ``max_workers`` workers named ``realtime-tool-<n>``, started
    on demand, plus one watcher (also ``realtime-tool-<n>``) that enforces time
    limits. Python cannot stop a running function: a call past its limit is
    answered with an error at once, and its worker is replaced (up to
    ``2 * max_workers`` threads in all) until the function returns. Tools that
    block should themselves give up in bounded time, or :meth:`close` returns
    with their (daemon) thread still running.

    Args:
        registry: Where tools are looked up, at submission.
        max_workers: Calls that run at the same time, at most.
        timeout: The time limit of a call in seconds, unless its tool sets one.

    .. versionadded:: 0.2
    """

    def __init__(
        self,
        registry: ToolRegistry,
        *,
        max_workers: int = 4,
        timeout: float = 30.0,
        wake: Callable[[], None] | None = None,
    ) -> None:
        if max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {max_workers}")
        if not timeout > 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self._registry = registry
        self._max_workers = max_workers
        self._timeout = timeout
        self._lock = threading.Condition()
        self._jobs: queue.SimpleQueue[_Job | object] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []
        self._idle = 0
        self._stuck = 0  # workers still running a call that timed out
        self._deadlines: list[tuple[float, int, _Job]] = []
        self._seq = itertools.count()
        self._watcher: threading.Thread | None = None
        self._wake = wake  # an owner's clock calls expire(); None: a watcher thread of our own
        self._closed = False

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def owns(self, thread: threading.Thread) -> bool:
        """Whether ``thread`` is one of the runner's workers or its watcher."""
        with self._lock:
            return thread is self._watcher or thread in self._workers

    def submit(self, calls: Iterable[FunctionCall]) -> ToolBatch:
        """Start the calls of one response; return the batch that collects their outputs.

        Calls that need no worker (an unknown tool, arguments that are not a
        JSON object) are answered at once. After :meth:`close`, every call is
        answered at once with an error output.

        Args:
            calls: The response's function calls, in the order to answer them.
        """
        batch = ToolBatch(tuple(calls))
        jobs: list[_Job] = []
        for index, call in enumerate(batch.calls):
            tool = self._registry.get(call.name)
            failure = self._precheck(call, tool)
            if failure is not None or tool is None:
                batch._resolve(
                    index, ToolResult(call=call, output=error_output(failure or ""), error=failure)
                )
                continue
            jobs.append(_Job(batch, index, call, tool, tool.timeout or self._timeout))
        if jobs:
            self._enqueue(jobs)
        return batch

    def close(self, timeout: float = 5.0) -> None:
        """Stop the pool: answer unfinished calls with an error, stop the threads.

        Waits at most about ``timeout`` seconds in all for the threads to end.
        A thread still inside a tool function at that point is left to finish
        on its own (it is a daemon and exits when the function returns).

        Args:
            timeout: Seconds to wait for the threads.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            pending = [job for _, _, job in self._deadlines]
            self._deadlines.clear()
            workers = list(self._workers)
            watcher = self._watcher
            self._lock.notify_all()
        for job in pending:
            self._answer(job, "the session closed before the tool finished", None)
        for _ in workers:
            self._jobs.put(_STOP)
        deadline = time.monotonic() + timeout
        current = threading.current_thread()
        for thread in [*workers, *([watcher] if watcher else [])]:
            if thread is not current:
                thread.join(max(0.0, deadline - time.monotonic()))
        # The calling thread (a tool that closed its session) is not stuck: it returns next.
        alive = [t.name for t in workers if t is not current and t.is_alive()]
        if alive:
            _log.warning("tool threads still inside a tool function after close: %s", alive)

    # --- internals --------------------------------------------------------------------------

    def _precheck(self, call: FunctionCall, tool: Tool | None) -> str | None:
        if self._closed:
            return "the session closed before the tool could run"
        if tool is None:
            known = ", ".join(self._registry.names) or "none"
            return f"unknown tool {call.name!r} (available: {known})"
        try:
            _ = call.parsed_arguments
        except ValueError as exc:
            return str(exc)
        return None

    def _enqueue(self, jobs: list[_Job]) -> None:
        with self._lock:
            if self._closed:
                late = jobs
            else:
                late = []
                for job in jobs:
                    heapq.heappush(self._deadlines, (job.deadline, next(self._seq), job))
                    self._jobs.put(job)
                self._spawn(len(jobs))
                self._lock.notify_all()
        for job in late:
            self._answer(job, "the session closed before the tool could run", None)

    def _spawn(self, wanted: int) -> None:
        """Start workers for ``wanted`` new jobs, within the limits (lock held)."""
        if self._wake is not None:
            self._wake()  # the owner's clock learns of the new deadlines
        elif self._watcher is None:
            self._watcher = self._thread(self._watch)
        self._workers = [t for t in self._workers if t.is_alive()]
        limit = min(self._max_workers + self._stuck, 2 * self._max_workers)
        spare = self._idle
        while spare < wanted and len(self._workers) < limit:
            self._workers.append(self._thread(self._work))
            spare += 1

    def _thread(self, target: Callable[[], None]) -> threading.Thread:
        thread = threading.Thread(
            target=target, name=f"realtime-tool-{next(_thread_numbers)}", daemon=True
        )
        thread.start()
        return thread

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            job = self._jobs.get()
            with self._lock:
                self._idle -= 1
                if job is _STOP or self._closed:
                    return
                if not isinstance(job, _Job) or job.batch._resolved(job.index):
                    continue  # timed out while waiting for a worker
                job.running = True
            output, error = _execute(job)
            with self._lock:
                if not job.running:  # the watcher answered it: this worker was "stuck"
                    self._stuck -= 1
                job.running = False
            self._answer(job, error, output)

    def expire(self, now: float) -> float | None:
        """Answer the calls past their time limit at ``now``; the next limit, if any.

        The session's writer thread calls it at each timed wake-up (so no
        thread of the runner's own keeps time); a runner made without ``wake``
        runs a watcher thread that calls it.
        """
        expired: list[_Job] = []
        with self._lock:
            if self._closed:
                return None
            while self._deadlines and self._deadlines[0][0] <= now:
                _, _, job = heapq.heappop(self._deadlines)
                if job.batch._resolved(job.index):
                    continue
                expired.append(job)
                if job.running:
                    job.running = False
                    self._stuck += 1
            upcoming = self._deadlines[0][0] if self._deadlines else None
        for job in expired:
            self._answer(
                job, f"tool {job.call.name!r} did not finish within {job.timeout:g} s", None
            )
        if expired:
            with self._lock:  # replace workers stuck past their limit, for queued calls
                if not self._closed:
                    self._spawn(self._jobs.qsize())
        return upcoming

    def _watch(self) -> None:
        """The stand-alone runner's own clock."""
        while True:
            self.expire(time.monotonic())
            with self._lock:  # the deadlines read again under the lock: no missed notify
                if self._closed:
                    return
                if not self._deadlines:
                    self._lock.wait()
                elif (wait := self._deadlines[0][0] - time.monotonic()) > 0:
                    self._lock.wait(wait)

    def _answer(self, job: _Job, error: str | None, output: str | None) -> None:
        result = ToolResult(
            call=job.call,
            output=error_output(error) if error is not None else (output or ""),
            error=error,
            follow_up=job.tool.follow_up if error is None else True,
            duration=time.monotonic() - job.started,
        )
        job.batch._resolve(job.index, result)


def _execute(job: _Job) -> tuple[str | None, str | None]:
    """Run one call; return ``(output, None)`` or ``(None, error)``."""
    name = job.call.name
    try:
        value: Any = job.tool.call(job.call.parsed_arguments)
    except ArgumentError as exc:
        return None, f"bad arguments for {name!r}: {exc}"
    except Exception as exc:
        _log.exception("tool %r raised", name)
        return None, f"tool {name!r} raised {type(exc).__name__}: {exc}"
    if isinstance(value, str):
        return value, None
    try:
        return json.dumps(value), None
    except (TypeError, ValueError) as exc:
        return None, f"tool {name!r} returned a value that is not JSON: {exc}"
