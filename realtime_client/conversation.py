"""The conversation as the server reports it: an ordered list of items.

:class:`ConversationState` follows the ``conversation.item.*`` events and keeps
the session's items in the server's order, with the user's input transcripts
attached to their items. It can export the items as JSON-ready data and turn
an export back into the ``conversation.item.create`` events that recreate the
conversation in a new session.

.. versionadded:: 0.2
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Final, final

import attrs

from . import events as ev
from .errors import ProtocolError

__all__ = ["ConversationState"]

_PENDING_TRANSCRIPTS: Final = 64  # transcripts kept for items not yet reported


class _Transcript:
    """An input transcription in progress, for one content part of one item."""

    __slots__ = ("deltas", "final")

    def __init__(self) -> None:
        self.deltas: list[str] = []
        self.final: str | None = None

    def text(self) -> str:
        return self.final if self.final is not None else "".join(self.deltas)


@final
class ConversationState:
    """The session's conversation items, in order, as the server reports them.

    Contract: the session's reader thread calls :meth:`feed` with every server
    event in the order received; any thread may read (:attr:`items`,
    :meth:`get`, :meth:`export`, ``len()``, ``in``) at any time. Reads return
    snapshots taken under a lock, so they never see half an update. ``feed``
    never raises for an event's content.

    How events change the state:

    - ``conversation.item.added`` / ``.created``: a new item is placed right
      after ``previous_item_id``; when that is absent or unknown (the server
      sometimes sends ``null``), it goes at the end. An item already known is
      updated in place.
    - ``conversation.item.done`` and ``conversation.item.retrieved``: the item
      is replaced by the server's newer version, in place (or added at the end
      if it was not known).
    - ``conversation.item.truncated``: the audio part's transcript is removed,
      as the server removes it, and audio bytes (when the item has them) are
      cut at ``audio_end_ms``.
    - ``conversation.item.deleted``: the item is removed.
    - ``conversation.item.input_audio_transcription.delta`` / ``.completed``:
      the transcript is set on the item's ``input_audio`` part, matched by
      ``item_id`` and ``content_index``, whenever it arrives: before the item
      (kept until the item is added, for at most 64 items) or long after the
      assistant has answered. ``.failed`` is recorded for
      :meth:`transcription_error`.

    Output items of out-of-band responses never join the conversation, so they
    never appear here.

    Args:
        audio_bytes_per_ms: Bytes per millisecond of item audio, used to cut
            audio on truncation: 48 for the default 24 kHz 16-bit PCM, 8 for G.711.

    .. versionadded:: 0.2
    """

    def __init__(self, *, audio_bytes_per_ms: int = 48) -> None:
        if audio_bytes_per_ms < 1:
            raise ValueError(f"audio_bytes_per_ms must be at least 1, got {audio_bytes_per_ms}")
        self._bytes_per_ms = audio_bytes_per_ms
        self._lock = threading.Lock()
        self._order: list[str] = []
        self._items: dict[str, ev.ConversationItem] = {}
        self._transcripts: dict[tuple[str, int], _Transcript] = {}
        self._pending: OrderedDict[str, None] = OrderedDict()  # items with early transcripts
        self._errors: dict[str, ev.TranscriptionError] = {}
        self._conversation_id: str | None = None
        self._handlers: dict[type, Callable[[Any], None]] = {
            ev.ConversationCreatedEvent: self._on_conversation,
            ev.ConversationItemAddedEvent: self._on_added,
            ev.ConversationItemCreatedEvent: self._on_added,
            ev.ConversationItemDoneEvent: self._on_replaced,
            ev.ConversationItemRetrievedEvent: self._on_replaced,
            ev.ConversationItemTruncatedEvent: self._on_truncated,
            ev.ConversationItemDeletedEvent: self._on_deleted,
            ev.ConversationItemInputAudioTranscriptionDeltaEvent: self._on_transcript_delta,
            ev.ConversationItemInputAudioTranscriptionCompletedEvent: self._on_transcript_done,
            ev.ConversationItemInputAudioTranscriptionFailedEvent: self._on_transcript_failed,
        }

    # --- reading ----------------------------------------------------------------------------

    @property
    def items(self) -> tuple[ev.ConversationItem, ...]:
        """The items in conversation order, with input transcripts attached."""
        with self._lock:
            return tuple(self._items[i] for i in self._order)

    @property
    def conversation_id(self) -> str | None:
        """The id of the server's conversation, once ``conversation.created`` arrived."""
        return self._conversation_id

    def get(self, item_id: str) -> ev.ConversationItem | None:
        """The item with this id, or ``None`` if the conversation does not hold it."""
        with self._lock:
            return self._items.get(item_id)

    def transcription_error(self, item_id: str) -> ev.TranscriptionError | None:
        """Why the transcription of this item's audio failed, if it did."""
        with self._lock:
            return self._errors.get(item_id)

    def __len__(self) -> int:
        with self._lock:
            return len(self._order)

    def __contains__(self, item_id: object) -> bool:
        with self._lock:
            return item_id in self._items

    def __iter__(self) -> Iterator[ev.ConversationItem]:
        return iter(self.items)

    # --- export and seeding -----------------------------------------------------------------

    def export(self) -> list[dict[str, Any]]:
        """The items as JSON-ready dictionaries, in their wire form.

        ``json.dumps(state.export())`` saves the conversation; audio bytes, where
        the server returned them, are base64 text as on the wire.

        Returns:
            One dictionary per item, in conversation order.
        """
        return [_item_to_json(item) for item in self.items]

    @staticmethod
    def seed_events(
        items: Iterable[ev.ConversationItem | Mapping[str, Any]],
    ) -> list[ev.ConversationItemCreateEvent]:
        """The ``conversation.item.create`` events that recreate an exported conversation.

        Send them, in order, to a new session before its first response. Items
        keep their ids and content, with two changes the server needs: audio
        that the server did not return (it never returns the audio of items it
        reports) is replaced by its transcript as text (``input_text`` for the
        user, ``output_text`` for the assistant), and an audio part with neither
        bytes nor transcript is dropped, as is a message left with no content.

        Args:
            items: What :meth:`export` returned (for example read back with
                ``json.load``), or item objects such as :attr:`items`.

        Returns:
            One event per item to recreate, in order.

        Raises:
            ValueError: An entry is not a valid conversation item; the message
                gives its position and what is wrong.
        """
        created = []
        for position, entry in enumerate(items):
            item = entry if not isinstance(entry, Mapping) else _item_from_json(entry, position)
            seeded = _seedable(item)
            if seeded is not None:
                created.append(ev.ConversationItemCreateEvent(item=seeded))
        return created

    # --- feeding ----------------------------------------------------------------------------

    @property
    def handled_events(self) -> frozenset[type]:
        """The event classes :meth:`feed` applies (it ignores any other).

        A dispatcher (the session's conversation layer) calls :meth:`feed`
        only with these.

        .. versionadded:: 0.3
        """
        return frozenset(self._handlers)

    def feed(self, event: object) -> None:
        """Apply one server event; events that do not change the conversation are ignored.

        Args:
            event: Any server event, typed or unknown.
        """
        handler = self._handlers.get(type(event))
        if handler is not None:
            with self._lock:
                handler(event)

    def clear(self) -> None:
        """Forget every item, for example before seeding a new session."""
        with self._lock:
            self._order.clear()
            self._items.clear()
            self._transcripts.clear()
            self._pending.clear()
            self._errors.clear()

    def _on_conversation(self, e: ev.ConversationCreatedEvent) -> None:
        self._conversation_id = e.conversation.id

    def _on_added(
        self, e: ev.ConversationItemAddedEvent | ev.ConversationItemCreatedEvent
    ) -> None:
        item_id = e.item.id
        if not item_id:
            return
        if item_id not in self._items:
            self._insert(item_id, e.previous_item_id)
        self._items[item_id] = self._with_transcripts(e.item)

    def _on_replaced(
        self, e: ev.ConversationItemDoneEvent | ev.ConversationItemRetrievedEvent
    ) -> None:
        item_id = e.item.id
        if not item_id:
            return
        if item_id not in self._items:
            self._insert(item_id, getattr(e, "previous_item_id", None))
        self._items[item_id] = self._with_transcripts(e.item)

    def _on_truncated(self, e: ev.ConversationItemTruncatedEvent) -> None:
        item = self._items.get(e.item_id)
        if not isinstance(item, ev.AssistantMessageItem) or not (
            0 <= e.content_index < len(item.content)
        ):
            return
        part = item.content[e.content_index]
        if not isinstance(part, ev.OutputAudioContent):
            return
        audio = part.audio[: e.audio_end_ms * self._bytes_per_ms] if part.audio else part.audio
        content = list(item.content)
        content[e.content_index] = attrs.evolve(part, audio=audio, transcript=None)
        self._items[e.item_id] = attrs.evolve(item, content=content)

    def _on_deleted(self, e: ev.ConversationItemDeletedEvent) -> None:
        if self._items.pop(e.item_id, None) is not None:
            self._order.remove(e.item_id)
        self._drop_transcripts(e.item_id)
        self._errors.pop(e.item_id, None)

    def _on_transcript_delta(
        self, e: ev.ConversationItemInputAudioTranscriptionDeltaEvent
    ) -> None:
        if e.delta:
            self._transcript(e.item_id, e.content_index or 0).deltas.append(e.delta)
            self._refresh(e.item_id)

    def _on_transcript_done(
        self, e: ev.ConversationItemInputAudioTranscriptionCompletedEvent
    ) -> None:
        transcript = self._transcript(e.item_id, e.content_index)
        transcript.final = e.transcript
        transcript.deltas.clear()
        self._refresh(e.item_id)

    def _on_transcript_failed(
        self, e: ev.ConversationItemInputAudioTranscriptionFailedEvent
    ) -> None:
        self._errors[e.item_id] = e.error

    # --- helpers (called with the lock held) -----------------------------------------------

    def _insert(self, item_id: str, previous_item_id: str | None) -> None:
        if previous_item_id is not None and previous_item_id in self._items:
            self._order.insert(self._order.index(previous_item_id) + 1, item_id)
        else:
            self._order.append(item_id)

    def _transcript(self, item_id: str, content_index: int) -> _Transcript:
        key = (item_id, content_index)
        transcript = self._transcripts.get(key)
        if transcript is None:
            transcript = self._transcripts[key] = _Transcript()
        if item_id not in self._items:  # early: keep it for a bounded number of items
            self._pending[item_id] = None
            self._pending.move_to_end(item_id)
            while len(self._pending) > _PENDING_TRANSCRIPTS:
                oldest, _ = self._pending.popitem(last=False)
                self._drop_transcripts(oldest)
        return transcript

    def _drop_transcripts(self, item_id: str) -> None:
        for key in [k for k in self._transcripts if k[0] == item_id]:
            del self._transcripts[key]
        self._pending.pop(item_id, None)

    def _refresh(self, item_id: str) -> None:
        item = self._items.get(item_id)
        if item is not None:
            self._items[item_id] = self._with_transcripts(item)

    def _with_transcripts(self, item: ev.ConversationItem) -> ev.ConversationItem:
        if not isinstance(item, ev.UserMessageItem) or not item.id:
            return item
        self._pending.pop(item.id, None)
        content = list(item.content)
        changed = False
        for index, part in enumerate(content):
            transcript = self._transcripts.get((item.id, index))
            if isinstance(part, ev.InputAudioContent) and transcript is not None:
                text = transcript.text()
                if part.transcript != text:
                    content[index] = attrs.evolve(part, transcript=text)
                    changed = True
        return attrs.evolve(item, content=content) if changed else item


def _item_to_json(item: ev.ConversationItem) -> dict[str, Any]:
    frame = json.loads(ev.encode_client_event(ev.ConversationItemCreateEvent(item=item)))
    exported: dict[str, Any] = frame["item"]
    return exported


def _item_from_json(entry: Mapping[str, Any], position: int) -> ev.ConversationItem:
    frame = {"type": "conversation.item.create", "item": dict(entry)}
    try:
        event = ev.decode_client_event(json.dumps(frame))
    except (TypeError, ValueError) as exc:  # not JSON-serializable
        raise ValueError(f"entry {position} of the conversation is not JSON data: {exc}") from exc
    except ProtocolError as exc:
        details = "; ".join(exc.details) or str(exc)
        raise ValueError(
            f"entry {position} of the conversation is not a valid item: {details}"
        ) from exc
    if not isinstance(event, ev.ConversationItemCreateEvent):  # pragma: no cover - type fixed
        raise ValueError(f"entry {position} of the conversation is not a valid item")
    return event.item


def _seedable(item: ev.ConversationItem) -> ev.ConversationItem | None:
    if isinstance(item, ev.UserMessageItem):
        user: list[ev.UserContent] = []
        for part in item.content:
            if isinstance(part, ev.InputAudioContent) and not part.audio:
                if part.transcript:
                    user.append(ev.InputTextContent(text=part.transcript))
            else:
                user.append(part)
        return attrs.evolve(item, content=user, status=None, object=None) if user else None
    if isinstance(item, ev.AssistantMessageItem):
        said: list[ev.AssistantContent] = []
        for out in item.content:
            if isinstance(out, ev.OutputAudioContent) and not out.audio:
                if out.transcript:
                    said.append(ev.OutputTextContent(text=out.transcript))
            else:
                said.append(out)
        return attrs.evolve(item, content=said, status=None, object=None) if said else None
    if isinstance(item, (ev.SystemMessageItem, ev.FunctionCallItem, ev.FunctionCallOutputItem)):
        return attrs.evolve(item, status=None, object=None)
    return item
