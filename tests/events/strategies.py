"""Hypothesis strategies for every model class, derived from the annotations."""

from __future__ import annotations

import enum
import types
import typing
from functools import cache
from typing import Any, Literal, Union, get_args, get_origin

import attrs
from hypothesis import strategies as st

from realtime_client.events import Unset

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def for_type(tp: Any) -> st.SearchStrategy[Any]:
    """A strategy producing valid values of the annotated type."""
    origin = get_origin(tp)
    if tp is Any:
        return JSON_VALUES
    if tp is type(None):
        return st.none()
    if tp is Unset:
        return st.just(Unset.UNSET)
    if tp is str:
        return st.text(max_size=12)
    if tp is bool:
        return st.booleans()
    if tp is int:
        return st.integers(-(2**63), 2**63 - 1)
    if tp is float:
        return st.floats(allow_nan=False, allow_infinity=False)
    if tp is bytes:
        return st.binary(max_size=64)
    if origin is Literal:
        return st.sampled_from(get_args(tp))
    if origin in (Union, types.UnionType):
        # The Unknown* placeholders are what decoding makes of new types: not built here.
        known = [a for a in get_args(tp) if not getattr(a, "__name__", "").startswith("Unknown")]
        return st.one_of([for_type(a) for a in known])
    if origin is list:
        return st.lists(for_type(get_args(tp)[0]), max_size=3)
    if origin is dict:
        return st.dictionaries(st.text(max_size=6), for_type(get_args(tp)[1]), max_size=3)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(list(tp))
    if attrs.has(tp):
        return for_class(tp)
    raise TypeError(f"no strategy for {tp!r}")


@cache
def for_class(cls: type) -> st.SearchStrategy[Any]:
    """A strategy building instances of an attrs model class, every field exercised."""
    hints = typing.get_type_hints(cls)
    kwargs = {
        f.name: st.deferred(lambda t=hints[f.name]: for_type(t))
        for f in attrs.fields(cls)
        if f.init and not f.name.startswith("_")  # not the unknown fields (WireObject)
    }
    return st.builds(cls, **kwargs)
