"""The handle a response request returns: a :class:`concurrent.futures.Future`
of the finished :class:`~realtime_client.messages.Turn`, with the request's tag
and the response's id once the server started it.

:class:`~realtime_client._responses.ResponseGate` makes and resolves the
handles; :mod:`realtime_client.session` re-exports :class:`ResponseHandle`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent import futures
from concurrent.futures import Future
from typing import TypeAlias, final

from ._turns import Turn
from .errors import RealtimeError, UsageError, WaitTimeoutError

__all__ = ["ReaderRef", "ResponseHandle"]

_log = logging.getLogger("realtime_client")

ReaderRef: TypeAlias = "threading.Thread | Callable[[], threading.Thread] | None"
"""The session's reader thread, or a function returning the one in use."""


@final
class ResponseHandle:
    """A response the session asked for: wait for it, read its turn, or cancel it.

    Returned by :meth:`~realtime_client.ConversationSession.create_response`.
    The request may wait in the session's queue while another response is
    active; :attr:`response_id` is set once the server has started it.

    Contract: any thread may read, wait on or cancel a handle, except that
    :meth:`result` and :meth:`wait` refuse to block the session's reader thread
    (a callback), which is the thread that finishes the handle.

    .. versionadded:: 0.2
    """

    def __init__(
        self,
        *,
        tag: str,
        out_of_band: bool,
        reader: ReaderRef,
        cancel: Callable[[ResponseHandle], None],
    ) -> None:
        self._tag = tag
        self._out_of_band = out_of_band
        self._reader = reader
        self._cancel = cancel
        self._future: Future[Turn] = Future()
        self._future.set_running_or_notify_cancel()  # never "cancelled": cancel() asks the server
        self._response_id: str | None = None

    def __repr__(self) -> str:
        state = "done" if self._future.done() else "pending"
        return f"<ResponseHandle {self._tag} {state} response_id={self._response_id!r}>"

    @property
    def tag(self) -> str:
        """The request's tag: its ``event_id`` and its ``metadata["realtime_client.request"]``."""
        return self._tag

    @property
    def out_of_band(self) -> bool:
        """Whether the response was asked for out of band (``conversation="none"``)."""
        return self._out_of_band

    @property
    def response_id(self) -> str | None:
        """The server's id for the response, once it has started (``None`` before)."""
        return self._response_id

    @property
    def future(self) -> Future[Turn]:
        """The handle as a :class:`concurrent.futures.Future` of its
        :class:`~realtime_client.messages.Turn`, for ``concurrent.futures.wait``,
        ``as_completed`` or ``asyncio.wrap_future``. Its ``cancel()`` does
        nothing (it is running from the start): use :meth:`cancel`.

        .. versionadded:: 0.3
        """
        return self._future

    def done(self) -> bool:
        """Whether the response has finished, or the request failed."""
        return self._future.done()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until :meth:`done`, at most ``timeout`` seconds; whether it is done.

        Raises:
            UsageError: Called from a callback while not done (it would block
                the reader thread that finishes the handle).
        """
        self._check_thread()
        return not futures.wait((self._future,), timeout).not_done

    def result(self, timeout: float | None = None) -> Turn:
        """The finished turn, waiting for it at most ``timeout`` seconds.

        A response that ended ``cancelled``, ``incomplete`` or ``failed`` is a
        turn with that status, not an error. A request cancelled before the
        server started it is a ``cancelled`` turn with no ``response_id``.

        Raises:
            WaitTimeoutError: Not finished within ``timeout`` seconds (the
                response goes on; :meth:`cancel` it if it is no longer wanted).
            ServerError: The server refused the request (for example, invalid options).
            SessionClosedError: The session closed before the response finished.
            UsageError: Called from a callback while not done.
        """
        self._check_thread()
        try:
            return self._future.result(timeout)
        except futures.TimeoutError:
            if self._future.done():
                raise  # the handle's own error (a start timeout is a TimeoutError too)
            raise WaitTimeoutError(f"the response did not finish within {timeout} s") from None

    def cancel(self) -> None:
        """Cancel the response: drop the request if it is still queued, else
        send ``response.cancel`` once the server has started it. Does nothing
        once done."""
        if not self._future.done():
            self._cancel(self)

    def add_done_callback(self, fn: Callable[[ResponseHandle], object]) -> None:
        """Call ``fn(handle)`` once done (at once if it is), on the thread that
        finishes the handle (the reader; the writer for a start timeout; the
        closing thread), so it must not block. An exception in it is logged."""
        self._future.add_done_callback(lambda _: _call(fn, self))

    def _check_thread(self) -> None:
        reader = self._reader() if callable(self._reader) else self._reader
        if threading.current_thread() is reader and not self._future.done():
            raise UsageError(
                "waiting for a response in a callback would block the reader thread that "
                "delivers it: use add_done_callback() or wait on another thread"
            )

    def _started(self, response_id: str) -> None:
        self._response_id = response_id

    def _resolve(self, *, turn: Turn | None = None, error: RealtimeError | None = None) -> None:
        """Finish the handle once; later calls do nothing."""
        try:
            if error is not None:
                self._future.set_exception(error)
            else:
                assert turn is not None
                self._future.set_result(turn)
        except futures.InvalidStateError:
            pass  # already finished (a late response.done after a close, say)


def _call(fn: Callable[[ResponseHandle], object], handle: ResponseHandle) -> None:
    try:
        fn(handle)
    except Exception:
        _log.exception("a response handle callback raised")
