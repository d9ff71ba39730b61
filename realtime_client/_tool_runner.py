"""Running the model's function calls: named tool threads with time limits.

Private (since 0.3): sessions run their tools here; :mod:`realtime_client.tools`
re-exports :class:`ToolResult`.
"""

from __future__ import annotations

import collections
import concurrent.futures
import functools
import heapq
import itertools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, final

import attrs

from . import events as ev
from ._tool_schema import ArgumentError
from ._turns import FunctionCall

if TYPE_CHECKING:
    from .tools import Tool, ToolRegistry

__all__ = ["ToolBatch", "ToolResult", "ToolRunner", "ToolThreads"]

_log = logging.getLogger("realtime_client")
_thread_numbers = itertools.count(1)


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
class ToolBatch(concurrent.futures.Future[tuple[ToolResult, ...]]):
    """The function calls of one response, answered together: a
    :class:`concurrent.futures.Future` of their results, in call order.

    Made by :meth:`ToolRunner.submit`. It is done when every call has a result,
    which is guaranteed within the calls' time limits. Then :meth:`events`
    gives what to send: one ``conversation.item.create`` per call (in call
    order) and, unless every tool opted out, one ``response.create``.

    Contract: any thread may wait on or read a batch. Done-callbacks run once,
    on the thread that answered the last call (a tool thread, the thread
    enforcing time limits, or the caller of :meth:`add_done_callback` if the
    batch is already done); they must not block. An exception in a callback is
    logged and does not affect the batch.

    .. versionadded:: 0.2
    """

    def __init__(self, calls: tuple[FunctionCall, ...]) -> None:
        super().__init__()
        self._calls = calls
        self._answers_lock = threading.Lock()
        self._answers: list[ToolResult | None] = [None] * len(calls)
        self._remaining = len(calls)
        if not calls:
            self.set_result(())

    @property
    def calls(self) -> tuple[FunctionCall, ...]:
        """The calls, in the order given."""
        return self._calls

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the batch is done, or ``timeout`` seconds pass.

        Returns:
            Whether the batch is done.
        """
        done, _ = concurrent.futures.wait([self], timeout)
        return bool(done)

    @property
    def results(self) -> tuple[ToolResult, ...]:
        """The results, in call order.

        Raises:
            RuntimeError: The batch is not done yet; :meth:`wait` first.
        """
        if not self.done():
            raise RuntimeError("the batch is not done yet: wait() for it first")
        return self.result()

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

    def cancel(self) -> bool:
        """Refused: every call of a batch is answered (within its time limit); ``False``."""
        return False

    def add_done_callback(self, fn: Callable[[ToolBatch], object]) -> None:
        """Call ``fn(batch)`` once the batch is done (at once if it is already)."""
        super().add_done_callback(lambda _: _run_callback(fn, self))

    def _resolve(self, index: int, result: ToolResult) -> bool:
        """Answer call ``index`` unless it already has its answer (the first answer counts)."""
        with self._answers_lock:
            if self._answers[index] is not None:
                return False
            self._answers[index] = result
            self._remaining -= 1
            if self._remaining:
                return True
            results = tuple(r for r in self._answers if r is not None)
        self.set_result(results)  # runs the done-callbacks, outside our lock
        return True

    def _resolved(self, index: int) -> bool:
        with self._answers_lock:
            return self._answers[index] is not None


def _run_callback(callback: Callable[[ToolBatch], object], batch: ToolBatch) -> None:
    try:
        callback(batch)
    except Exception:
        _log.exception("a tool batch callback raised")


_Task = tuple["concurrent.futures.Future[Any]", str, Callable[[], Any]]


@final
class ToolThreads(concurrent.futures.Executor):
    """A :class:`concurrent.futures.Executor` that runs each function on a
    thread of its own, named after it, at most ``max_workers`` at a time.

    Why not :class:`~concurrent.futures.ThreadPoolExecutor`: its idle workers
    stay until it is shut down (a session holds no tool thread while no tool
    runs), and it joins its workers at interpreter exit, so a tool stuck past
    its limit would keep the application from exiting. Here every thread ends
    with its function and is a daemon.

    A function that :meth:`retire` gives up on (stuck past its limit) frees its
    place for the next one, but at most ``max_workers`` of them at once, so
    there are never more than ``2 * max_workers`` threads.

    Args:
        max_workers: Functions that run at the same time, at most.
        prefix: The threads' names: ``<prefix>-<name>``.
    """

    def __init__(self, max_workers: int, prefix: Callable[[], str]) -> None:
        self._max_workers = max_workers
        self._prefix = prefix
        self._lock = threading.Lock()
        self._waiting: collections.deque[_Task] = collections.deque()
        self._threads: dict[concurrent.futures.Future[Any], threading.Thread] = {}
        self._retired: set[concurrent.futures.Future[Any]] = set()
        self._shutdown = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(*args, **kwargs)`` on a thread named after ``fn``."""
        name = getattr(fn, "__name__", "call")
        return self.submit_named(name, lambda: fn(*args, **kwargs))

    def submit_named(self, name: str, fn: Callable[[], Any]) -> concurrent.futures.Future[Any]:
        """Run ``fn()`` on a thread named ``<prefix>-<name>``; its future.

        Raises:
            RuntimeError: After :meth:`shutdown`.
        """
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        with self._lock:
            if self._shutdown:
                raise RuntimeError("the tool threads are shut down")
            self._waiting.append((future, name, fn))
            self._start_waiting()
        return future

    def retire(self, future: concurrent.futures.Future[Any]) -> None:
        """Stop counting ``future``'s running function against ``max_workers``
        (it is past its limit), unless as many are retired already."""
        with self._lock:
            running = future in self._threads and future not in self._retired
            if running and len(self._retired) < self._max_workers:
                self._retired.add(future)
                self._start_waiting()

    def threads(self) -> list[threading.Thread]:
        """The threads running now, retired ones included."""
        with self._lock:
            return list(self._threads.values())

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Refuse new functions; with ``cancel_futures``, cancel those not started.

        With ``wait``, join the running threads (stuck ones included: callers
        that need a bound join :meth:`threads` themselves).
        """
        with self._lock:
            self._shutdown = True
            cancelled = list(self._waiting) if cancel_futures else []
            if cancel_futures:
                self._waiting.clear()
        for future, _, _ in cancelled:
            future.cancel()
        if wait:
            for thread in self.threads():
                if thread is not threading.current_thread():
                    thread.join()

    def _start_waiting(self) -> None:
        """Start waiting functions while there is room (lock held)."""
        while self._waiting and len(self._threads) - len(self._retired) < self._max_workers:
            future, name, fn = self._waiting.popleft()
            if not future.set_running_or_notify_cancel():
                continue  # cancelled while it waited
            thread = threading.Thread(
                target=self._run,
                args=(future, fn),
                name=f"{self._prefix()}-{name}",
                daemon=True,
            )
            self._threads[future] = thread
            thread.start()

    def _run(self, future: concurrent.futures.Future[Any], fn: Callable[[], Any]) -> None:
        try:
            result = fn()
        except BaseException as exc:  # the future carries it; nothing is lost
            future.set_exception(exc)
        else:
            future.set_result(result)
        finally:
            with self._lock:
                del self._threads[future]
                self._retired.discard(future)
                if not self._shutdown:
                    self._start_waiting()


class _Job:
    """One call waiting for, or running on, a tool thread."""

    __slots__ = ("batch", "call", "deadline", "future", "index", "started", "timeout", "tool")

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
        self.future: concurrent.futures.Future[Any] | None = None


@final
class ToolRunner:
    """Runs function calls on named tool threads, with time limits.

    Contract: the session calls :meth:`submit` (from any thread, typically its
    reader on ``response.done``) with the function calls of one response and
    gets a :class:`ToolBatch`, which it answers when done. ``submit`` never
    raises and never blocks on a tool. Each call gets an output: the function's
    return value, or an error output (``{"error": "..."}``) for an unknown tool,
    arguments that are not a JSON object or do not fit the signature, an
    exception, or a call still running at its time limit (measured from
    submission). :meth:`close` is idempotent, callable from any thread, and
    bounded in time.

    Threads: each call runs on a thread of its own (:class:`ToolThreads`),
    named ``realtime-tool-<session>-<tool>``, at most ``max_workers`` at once;
    the thread ends with the call, so no tool thread exists while no tool
    runs. Time limits are enforced by :meth:`expire`, called from the owner's
    clock (the session's writer); a runner made without ``wake`` keeps time on
    a watcher thread of its own (``realtime-tool-<session>-watch``) while a
    call is in flight. Python cannot stop a running function: a call past its
    limit is answered with an error at once, and its place goes to the next
    call (up to ``2 * max_workers`` threads in all) until the function
    returns. Tools that block should themselves give up in bounded time, or
    :meth:`close` returns with their (daemon) thread still running.

    Args:
        registry: Where tools are looked up, at submission.
        max_workers: Calls that run at the same time, at most.
        timeout: The time limit of a call in seconds, unless its tool sets one.
        wake: Tells the owner's clock of a new deadline; ``None``: a watcher thread.
        session: The session's part of the thread names.

    .. versionadded:: 0.2
    """

    def __init__(
        self,
        registry: ToolRegistry,
        *,
        max_workers: int = 4,
        timeout: float = 30.0,
        wake: Callable[[], None] | None = None,
        session: Callable[[], str] | None = None,
    ) -> None:
        if max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {max_workers}")
        if not timeout > 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self._registry = registry
        self._timeout = timeout
        self._session: Callable[[], str] = session or functools.partial(str, next(_thread_numbers))
        self._threads = ToolThreads(max_workers, lambda: f"realtime-tool-{self._session()}")
        self._lock = threading.Condition()
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
        """Whether ``thread`` is one of the runner's tool threads or its watcher."""
        with self._lock:
            if thread is self._watcher:
                return True
        return thread in self._threads.threads()

    def submit(self, calls: Iterable[FunctionCall]) -> ToolBatch:
        """Start the calls of one response; return the batch that collects their outputs.

        Calls that need no thread (an unknown tool, arguments that are not a
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
        """Stop: answer unfinished calls with an error, wait for the threads.

        Waits at most about ``timeout`` seconds in all for the threads to end.
        A thread still inside a tool function at that point is left to finish
        on its own (it is a daemon and exits when the function returns; it
        does not hold up the interpreter's exit).

        Args:
            timeout: Seconds to wait for the threads.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            pending = [job for _, _, job in self._deadlines]
            self._deadlines.clear()
            watcher = self._watcher
            self._lock.notify_all()
        self._threads.shutdown(wait=False, cancel_futures=True)
        for job in pending:
            self._answer(job, "the session closed before the tool finished", None)
        deadline = time.monotonic() + timeout
        current = threading.current_thread()
        threads = self._threads.threads()
        for thread in [*threads, *([watcher] if watcher else [])]:
            if thread is not current:
                thread.join(max(0.0, deadline - time.monotonic()))
        # The calling thread (a tool that closed its session) is not stuck: it returns next.
        alive = [t.name for t in threads if t is not current and t.is_alive()]
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
                    job.future = self._threads.submit_named(
                        job.tool.name, functools.partial(_execute, job)
                    )
                if self._wake is not None:
                    self._wake()  # the owner's clock learns of the new deadlines
                elif self._watcher is None:
                    self._watcher = threading.Thread(
                        target=self._watch,
                        name=f"realtime-tool-{self._session()}-watch",
                        daemon=True,
                    )
                    self._watcher.start()
                self._lock.notify_all()
        for job in late:
            self._answer(job, "the session closed before the tool could run", None)
        # Outside the lock: a call already finished answers here, running the batch's
        # done-callbacks, which must not run under the runner's lock.
        for job in jobs:
            if job.future is not None:
                job.future.add_done_callback(functools.partial(self._ran, job))

    def _ran(self, job: _Job, future: concurrent.futures.Future[Any]) -> None:
        """A tool thread: the call returned (a cancelled call was answered already)."""
        if future.cancelled():
            return
        failure = future.exception()
        if failure is not None:  # not an Exception (those are the tool's error output)
            name = job.call.name
            self._answer(job, f"tool {name!r} raised {type(failure).__name__}: {failure}", None)
            return
        output, error = future.result()
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
                if not job.batch._resolved(job.index):
                    expired.append(job)
            upcoming = self._deadlines[0][0] if self._deadlines else None
        for job in expired:
            self._answer(
                job, f"tool {job.call.name!r} did not finish within {job.timeout:g} s", None
            )
            if job.future is not None and not job.future.cancel():
                self._threads.retire(job.future)  # stuck: its place goes to the next call
        return upcoming

    def _watch(self) -> None:
        """The stand-alone runner's own clock, while a call is in flight."""
        while True:
            self.expire(time.monotonic())
            with self._lock:  # the deadlines read again under the lock: no missed notify
                if self._closed or not self._deadlines:
                    self._watcher = None
                    return
                if (wait := self._deadlines[0][0] - time.monotonic()) > 0:
                    self._lock.wait(wait)

    def _answer(self, job: _Job, error: str | None, output: str | None) -> None:
        result = ToolResult(
            call=job.call,
            output=error_output(error) if error is not None else (output or ""),
            error=error,
            follow_up=job.tool.follow_up if error is None else True,
            duration=time.monotonic() - job.started,
        )
        if job.batch._resolve(job.index, result):
            self._forget(job)

    def _forget(self, job: _Job) -> None:
        """Drop an answered call's deadline (the heap keeps only calls in flight)."""
        with self._lock:
            for position, (_, _, queued) in enumerate(self._deadlines):
                if queued is job:
                    self._deadlines[position] = self._deadlines[-1]
                    self._deadlines.pop()
                    heapq.heapify(self._deadlines)
                    break
            if not self._deadlines:
                self._lock.notify_all()


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
