"""Token usage by modality, per turn and per session, and an estimated cost.

:class:`TokenCounts` splits a response's :class:`~realtime_client.events.Usage`
into text, audio and image tokens, with cached input tokens counted once (as
cached, not also as uncached). :class:`UsageTracker` adds the turns of a
session up and prices them with a :class:`Prices` table.

The prices in :data:`DEFAULT_PRICES` are **estimates**: OpenAI's published
list prices in US dollars per million tokens as of 2025-08-28 (the
``gpt-realtime`` general availability announcement). They change, and they do
not include input audio transcription, which another model bills separately.
Pass your own :class:`Prices` for figures you rely on.

.. versionadded:: 0.2
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, final

import attrs

from . import events as ev

__all__ = ["DEFAULT_PRICES", "PRICES_AS_OF", "Prices", "TokenCounts", "UsageTracker"]

_PER: Final = 1_000_000


@final
@attrs.frozen(kw_only=True)
class TokenCounts:
    """Tokens by modality. Each token is counted once: cached input is not also in the uncached.

    Args:
        text_input: Uncached text input tokens.
        text_cached: Cached text input tokens.
        text_output: Text output tokens.
        audio_input: Uncached audio input tokens.
        audio_cached: Cached audio input tokens.
        audio_output: Audio output tokens.
        image_input: Uncached image input tokens.
        image_cached: Cached image input tokens.

    .. versionadded:: 0.2
    """

    text_input: int = 0
    text_cached: int = 0
    text_output: int = 0
    audio_input: int = 0
    audio_cached: int = 0
    audio_output: int = 0
    image_input: int = 0
    image_cached: int = 0

    @classmethod
    def from_usage(cls, usage: ev.Usage | None) -> TokenCounts:
        """Split a response's usage by modality.

        Cached tokens are taken from ``cached_tokens_details`` when the server
        sends it. When it sends only the total ``cached_tokens``, they are
        counted as text first, then audio, then image (the order in which a
        conversation's prefix is usually cached). When the server gives no
        per-modality details, all input and output are counted as text.

        Args:
            usage: The ``usage`` of a ``response.done``, or ``None`` (all zero).
        """
        if usage is None:
            return cls()
        inp = usage.input_token_details
        out = usage.output_token_details
        if inp is None:
            text_in, audio_in, image_in, cached = usage.input_tokens or 0, 0, 0, 0
        else:
            text_in = inp.text_tokens or 0
            audio_in = inp.audio_tokens or 0
            image_in = inp.image_tokens or 0
            cached = inp.cached_tokens or 0
        split = inp.cached_tokens_details if inp is not None else None
        if split is not None:
            text_c = min(split.text_tokens or 0, text_in)
            audio_c = min(split.audio_tokens or 0, audio_in)
            image_c = min(split.image_tokens or 0, image_in)
        else:
            text_c = min(cached, text_in)
            audio_c = min(cached - text_c, audio_in)
            image_c = min(cached - text_c - audio_c, image_in)
        if out is None:
            text_out, audio_out = usage.output_tokens or 0, 0
        else:
            text_out, audio_out = out.text_tokens or 0, out.audio_tokens or 0
        return cls(
            text_input=text_in - text_c,
            text_cached=text_c,
            text_output=text_out,
            audio_input=audio_in - audio_c,
            audio_cached=audio_c,
            audio_output=audio_out,
            image_input=image_in - image_c,
            image_cached=image_c,
        )

    @property
    def input_tokens(self) -> int:
        """All input tokens, cached or not."""
        return (
            self.text_input
            + self.text_cached
            + self.audio_input
            + self.audio_cached
            + self.image_input
            + self.image_cached
        )

    @property
    def cached_tokens(self) -> int:
        """Cached input tokens, all modalities."""
        return self.text_cached + self.audio_cached + self.image_cached

    @property
    def output_tokens(self) -> int:
        """All output tokens."""
        return self.text_output + self.audio_output

    @property
    def total_tokens(self) -> int:
        """Input and output tokens."""
        return self.input_tokens + self.output_tokens

    def __add__(self, other: TokenCounts) -> TokenCounts:
        if not isinstance(other, TokenCounts):
            return NotImplemented
        return TokenCounts(
            **{
                f.name: getattr(self, f.name) + getattr(other, f.name)
                for f in attrs.fields(TokenCounts)
            }
        )


@final
@attrs.frozen(kw_only=True)
class Prices:
    """A price table in US dollars per million tokens.

    Args:
        text_input: Uncached text input.
        text_cached: Cached text input.
        text_output: Text output.
        audio_input: Uncached audio input.
        audio_cached: Cached audio input.
        audio_output: Audio output.
        image_input: Uncached image input.
        image_cached: Cached image input.

    .. versionadded:: 0.2
    """

    text_input: float
    text_cached: float
    text_output: float
    audio_input: float
    audio_cached: float
    audio_output: float
    image_input: float = 0.0
    image_cached: float = 0.0

    def __attrs_post_init__(self) -> None:
        for f in attrs.fields(Prices):
            value = getattr(self, f.name)
            if not value >= 0:
                raise ValueError(f"price {f.name} must be zero or more, got {value!r}")

    def cost(self, counts: TokenCounts) -> float:
        """The cost of these tokens, in US dollars."""
        total = 0.0
        for f in attrs.fields(Prices):
            price: float = getattr(self, f.name)
            tokens: int = getattr(counts, f.name)
            total += price * tokens
        return total / _PER


PRICES_AS_OF: Final = "2025-08-28"
"""The date of the list prices in :data:`DEFAULT_PRICES`."""

_GPT_REALTIME: Final = Prices(
    text_input=4.00,
    text_cached=0.40,
    text_output=16.00,
    audio_input=32.00,
    audio_cached=0.40,
    audio_output=64.00,
    image_input=5.00,
    image_cached=0.50,
)
_GPT_REALTIME_MINI: Final = Prices(
    text_input=0.60,
    text_cached=0.06,
    text_output=2.40,
    audio_input=10.00,
    audio_cached=0.30,
    audio_output=20.00,
    image_input=0.80,
    image_cached=0.08,
)

DEFAULT_PRICES: Final[Mapping[str, Prices]] = MappingProxyType(
    {
        "gpt-realtime": _GPT_REALTIME,
        "gpt-realtime-2025-08-28": _GPT_REALTIME,
        "gpt-realtime-mini": _GPT_REALTIME_MINI,
        "gpt-realtime-mini-2025-10-06": _GPT_REALTIME_MINI,
    }
)
"""Estimated list prices by model (see :data:`PRICES_AS_OF`); check before relying on them."""


_HANDLED: Final = frozenset({ev.ResponseDoneEvent})


@final
class UsageTracker:
    """Adds up the token usage of a session's turns and estimates their cost.

    Contract: the session's reader thread calls :meth:`feed` with every server
    event (only ``response.done`` counts), or anyone calls :meth:`add` with a
    response's usage; any thread may read at any time (reads are consistent
    snapshots). Out-of-band responses count too: they are billed the same.

    Args:
        model: The session's model, to find its prices in ``prices`` (a dated
            name such as ``gpt-realtime-2025-08-28`` also matches).
        prices: A price table, or a mapping of model name to tables. Defaults
            to :data:`DEFAULT_PRICES`. With a single :class:`Prices`, ``model``
            is not needed.

    .. versionadded:: 0.2
    """

    def __init__(
        self, *, model: str | None = None, prices: Prices | Mapping[str, Prices] | None = None
    ) -> None:
        self._model = model
        self._prices = _resolve_prices(model, DEFAULT_PRICES if prices is None else prices)
        self._lock = threading.Lock()
        self._total = TokenCounts()
        self._last: TokenCounts | None = None
        self._turns = 0

    @property
    def handled_events(self) -> frozenset[type]:
        """The event classes :meth:`feed` counts: ``response.done`` only.

        .. versionadded:: 0.3
        """
        return _HANDLED

    def feed(self, event: object) -> TokenCounts | None:
        """Count a ``response.done``; ignore any other event.

        Returns:
            The turn's counts for ``response.done``, else ``None``.
        """
        if isinstance(event, ev.ResponseDoneEvent):
            return self.add(event.response.usage)
        return None

    def add(self, usage: ev.Usage | None) -> TokenCounts:
        """Count one response's usage (``None`` counts a turn with no tokens).

        Returns:
            The response's counts by modality.
        """
        counts = TokenCounts.from_usage(usage)
        with self._lock:
            self._total = self._total + counts
            self._last = counts
            self._turns += 1
        return counts

    @property
    def total(self) -> TokenCounts:
        """The session's tokens so far."""
        with self._lock:
            return self._total

    @property
    def last_turn(self) -> TokenCounts | None:
        """The tokens of the last counted response, or ``None`` before the first."""
        with self._lock:
            return self._last

    @property
    def turns(self) -> int:
        """How many responses were counted."""
        with self._lock:
            return self._turns

    @property
    def prices(self) -> Prices | None:
        """The price table in use, or ``None`` when the model has no known prices."""
        return self._prices

    def estimated_cost(self, counts: TokenCounts | None = None) -> float | None:
        """The estimated cost in US dollars of ``counts`` (default: the session so far).

        Returns:
            The cost, or ``None`` when no prices are known for the model.
        """
        if self._prices is None:
            return None
        return self._prices.cost(self.total if counts is None else counts)


def _resolve_prices(model: str | None, prices: Prices | Mapping[str, Prices]) -> Prices | None:
    if isinstance(prices, Prices):
        return prices
    if model is None:
        return None
    if model in prices:
        return prices[model]
    # The longest known name the model's name starts with: dated snapshots share prices.
    matches = [name for name in prices if model.startswith(name + "-")]
    return prices[max(matches, key=len)] if matches else None
