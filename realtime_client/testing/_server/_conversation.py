"""The conversation a session holds: ordered items and the operations on them."""

from __future__ import annotations

from typing import Any, Final

import attrs

from ...events import (
    AssistantMessageItem,
    ConversationItem,
    ConversationItemAddedEvent,
    ConversationItemDoneEvent,
    InputAudioContent,
    OutputAudioContent,
    UserMessageItem,
)
from ._util import ServerErrorInfo, new_id

__all__ = ["Conversation", "added_and_done", "strip_audio"]

ROOT: Final = "root"


def strip_audio(item: ConversationItem) -> ConversationItem:
    """The item as the service echoes it: audio bytes left out."""
    if isinstance(item, UserMessageItem) and any(
        isinstance(p, InputAudioContent) and p.audio for p in item.content
    ):
        user: list[Any] = [
            attrs.evolve(p, audio=None) if isinstance(p, InputAudioContent) else p
            for p in item.content
        ]
        return attrs.evolve(item, content=user)
    if isinstance(item, AssistantMessageItem) and any(
        isinstance(p, OutputAudioContent) and p.audio for p in item.content
    ):
        assistant: list[Any] = [
            attrs.evolve(p, audio=None) if isinstance(p, OutputAudioContent) else p
            for p in item.content
        ]
        return attrs.evolve(item, content=assistant)
    return item


def added_and_done(
    item: ConversationItem, previous_item_id: str | None
) -> tuple[ConversationItemAddedEvent, ConversationItemDoneEvent]:
    """The ``conversation.item.added`` and ``.done`` pair for an item complete on arrival.

    That is how the service announces an item the client created or a committed
    user turn (audio bytes left out); a response's output items get the two
    events apart, around their streaming.
    """
    echo = strip_audio(item)
    return (
        ConversationItemAddedEvent(
            event_id=new_id("event"), item=echo, previous_item_id=previous_item_id
        ),
        ConversationItemDoneEvent(
            event_id=new_id("event"), item=echo, previous_item_id=previous_item_id
        ),
    )


class Conversation:
    """Ordered items by id, with the real service's errors for unknown ids."""

    def __init__(self) -> None:
        self.id = new_id("conv")
        self._items: list[ConversationItem] = []
        self.audio_bytes_per_ms: dict[tuple[str, int], int] = {}
        """Bytes per millisecond of each assistant audio part, by (item id, content index)."""

    @property
    def items(self) -> tuple[ConversationItem, ...]:
        """The items, in conversation order."""
        return tuple(self._items)

    @property
    def last_id(self) -> str | None:
        """The id of the last item, or None when the conversation is empty."""
        return self._items[-1].id if self._items else None

    def _index(self, item_id: str) -> int:
        for index, item in enumerate(self._items):
            if getattr(item, "id", None) == item_id:
                return index
        return -1

    def get(self, item_id: str) -> ConversationItem | None:
        """The item with this id, or None."""
        index = self._index(item_id)
        return self._items[index] if index >= 0 else None

    def add(self, item: ConversationItem, previous_item_id: str | None = None) -> str | None:
        """Insert an item (at the end, or after ``previous_item_id``; ``root`` is the start).

        Returns:
            The id of the item now before it, or None at the start.

        Raises:
            ServerErrorInfo: The item's id is taken, or ``previous_item_id`` is unknown.
        """
        item_id = getattr(item, "id", None)
        if item_id is not None and self._index(item_id) >= 0:
            raise ServerErrorInfo(
                f"Item with id '{item_id}' already exists.",
                code="item_id_already_exists",
                param="item.id",
            )
        if previous_item_id is None:
            position = len(self._items)
        elif previous_item_id == ROOT:
            position = 0
        else:
            found = self._index(previous_item_id)
            if found < 0:
                raise ServerErrorInfo(
                    f"Previous item with id '{previous_item_id}' not found.",
                    code="item_create_invalid_previous_item_id",
                    param="previous_item_id",
                )
            position = found + 1
        self._items.insert(position, item)
        return getattr(self._items[position - 1], "id", None) if position > 0 else None

    def replace(self, item: ConversationItem) -> None:
        """Put a newer version of an item (same id) in its place; unknown ids are ignored."""
        index = self._index(getattr(item, "id", None) or "")
        if index >= 0:
            self._items[index] = item

    def delete(self, item_id: str) -> None:
        """Remove an item.

        Raises:
            ServerErrorInfo: No item has this id.
        """
        index = self._index(item_id)
        if index < 0:
            raise ServerErrorInfo(
                f"Error deleting item: the item with id '{item_id}' does not exist.",
                code="item_delete_invalid_item_id",
                param="item_id",
            )
        del self._items[index]

    def retrieve(self, item_id: str) -> ConversationItem:
        """The item with this id, for ``conversation.item.retrieve``.

        Raises:
            ServerErrorInfo: No item has this id.
        """
        item = self.get(item_id)
        if item is None:
            raise ServerErrorInfo(
                f"Error retrieving item: the item with id '{item_id}' does not exist.",
                code="item_retrieve_invalid_item_id",
                param="item_id",
            )
        return item

    def truncate(self, item_id: str, content_index: int, audio_end_ms: int) -> None:
        """Cut an assistant audio part at ``audio_end_ms``; the rest and the transcript go.

        The item may still be streaming: what counts is the audio sent so far.

        Raises:
            ServerErrorInfo: Unknown item, not an assistant audio part (or one with
                no audio yet), or ``audio_end_ms`` beyond the audio that was sent.
        """
        item = self.get(item_id)
        if item is None:
            raise ServerErrorInfo(
                f"Item with item_id not found: {item_id}",
                code="item_truncate_invalid_item_id",
                param="item_id",
            )
        if audio_end_ms < 0:
            raise ServerErrorInfo(
                f"Invalid 'audio_end_ms': integer below minimum value. Expected a value >= 0, "
                f"but got {audio_end_ms} instead.",
                code="integer_below_min_value",
                param="audio_end_ms",
            )
        per_ms = self.audio_bytes_per_ms.get((item_id, content_index))
        part = (
            item.content[content_index]
            if isinstance(item, AssistantMessageItem) and 0 <= content_index < len(item.content)
            else None
        )
        if per_ms is None or not isinstance(part, OutputAudioContent) or not part.audio:
            # What the service answers for a text item, and for an audio item whose
            # audio has not started yet (livekit/agents#6157).
            raise ServerErrorInfo(
                "Only model output audio messages can be truncated",
                code="unsupported_content_type",
                param=None,
            )
        duration = len(part.audio) // per_ms
        if audio_end_ms > duration:
            raise ServerErrorInfo(
                f"audio content of {duration} ms is already shorter than {audio_end_ms} ms",
                code="invalid_value",
                param="audio_end_ms",
            )
        assert isinstance(item, AssistantMessageItem)
        content = list(item.content)
        content[content_index] = OutputAudioContent(
            audio=part.audio[: audio_end_ms * per_ms], transcript=""
        )
        self.replace(attrs.evolve(item, content=content))
