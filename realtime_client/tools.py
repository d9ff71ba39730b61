"""Function tools: describe plain Python functions to the model and run its calls.

:class:`ToolRegistry` turns functions into tool definitions, with the JSON
Schema of their parameters derived from the signature and the Google-style
docstring. A session runs the model's calls (privately) on a small pool of
worker threads, with a time limit per call, and always produces an output
for the model: an unknown tool, bad arguments, an exception or a timeout each
become an error output (``{"error": "..."}``), never an exception for the
caller; each is a :class:`ToolResult`. The calls of one response are answered
together, followed by one ``response.create``.

.. versionchanged:: 0.3 ``ToolRunner`` and ``ToolBatch`` are private.

.. versionadded:: 0.2
"""

from __future__ import annotations

import inspect
import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final, TypeVar, final, overload

import attrs

from . import events as ev
from ._tool_runner import ToolResult
from ._tool_schema import Signature, parse_docstring

__all__ = ["Tool", "ToolRegistry", "ToolResult"]

F = TypeVar("F", bound=Callable[..., Any])

_NAME: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@final
@attrs.frozen(kw_only=True)
class Tool:
    """A registered function tool.

    Args:
        name: The name the model calls it by.
        description: What it does, for the model.
        parameters: The JSON Schema of its arguments (an object schema).
        function: The Python function to run.
        follow_up: Whether the model is asked for a new response after the
            tool's output is sent. ``False`` sends the output only (for tools
            whose effect is the answer, such as "hang up" or "show a card").
        timeout: This tool's time limit in seconds, or ``None`` for the runner's.

    .. versionadded:: 0.2
    """

    name: str
    description: str
    parameters: dict[str, Any] = attrs.field(repr=False)
    function: Callable[..., Any] = attrs.field(repr=False)
    follow_up: bool = True
    timeout: float | None = None
    _signature: Signature | None = attrs.field(
        default=None, repr=False, eq=False, alias="signature"
    )

    @property
    def definition(self) -> ev.FunctionTool:
        """The tool as the session configuration lists it."""
        return ev.FunctionTool(
            name=self.name, description=self.description, parameters=self.parameters
        )

    def call(self, arguments: Mapping[str, Any]) -> Any:
        """Run the function with the model's decoded arguments.

        Arguments are checked against the signature and converted (enum values
        to their members, arrays to tuples or sets where annotated) when the
        schema was derived; with an explicit ``parameters`` schema they are
        passed as keyword arguments, unchecked.

        Raises:
            ValueError: The arguments do not fit the signature.
            Exception: Whatever the function raises.
        """
        if self._signature is None:
            return self.function(**arguments)
        args, kwargs = self._signature.bind(arguments)
        return self.function(*args, **kwargs)


@final
class ToolRegistry:
    """The function tools of a session, by name.

    Contract: register tools from any thread, before or during a session; the
    session reads :meth:`definitions` when it configures the server, and the
    A session's tool pool looks tools up from its worker threads. All methods are
    thread-safe. A tool registered during a session reaches the model only
    when the session sends its tools again (``session.update``); a session
    whose registry this is does so after every change.

    Example::

        tools = ToolRegistry()

        @tools.register
        def get_weather(city: str, unit: Literal["C", "F"] = "C") -> dict[str, Any]:
            '''Current weather for a city.

            Args:
                city: The city name, such as "Paris".
                unit: The temperature unit.
            '''
            return {"city": city, "temp": 21, "unit": unit}

    .. versionadded:: 0.2
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tools: dict[str, Tool] = {}
        self._listeners: list[Callable[[], None]] = []

    def _subscribe(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after every change (the session re-sends its tools)."""
        with self._lock:
            self._listeners.append(listener)

    def _changed(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener()

    @overload
    def register(self, function: F, /) -> F: ...

    @overload
    def register(
        self,
        function: None = None,
        /,
        *,
        name: str | None = None,
        description: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        follow_up: bool = True,
        timeout: float | None = None,
    ) -> Callable[[F], F]: ...

    def register(
        self,
        function: F | None = None,
        /,
        *,
        name: str | None = None,
        description: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        follow_up: bool = True,
        timeout: float | None = None,
    ) -> F | Callable[[F], F]:
        """Register a function as a tool: ``@register``, ``@register(...)`` or ``register(fn)``.

        The name defaults to the function's ``__name__``; the description to
        its docstring's summary; the parameter schema to one derived from the
        signature (``str``, ``int``, ``float``, ``bool``, ``Literal``, ``Enum``,
        ``list[...]``, ``dict[str, ...]``, ``X | None``, ``Annotated[X, "text"]``;
        parameters without a default are required) with descriptions from the
        docstring's ``Args:`` section.

        Args:
            function: The function; omit it to use ``register(...)`` as a decorator.
            name: The tool's name (letters, digits, ``_`` and ``-``; 64 at most).
            description: What the tool does, for the model.
            parameters: An explicit JSON Schema for the arguments, used as given;
                the function is then called with the arguments as keywords.
            follow_up: ``False`` to send the tool's output without asking the
                model for a new response.
            timeout: This tool's time limit in seconds (``None``: the runner's).

        Returns:
            The function, unchanged (or a decorator that registers and returns it).

        Raises:
            ValueError: The name is invalid or already registered, or ``timeout``
                is not positive.
            TypeError: The function is not callable, or a parameter's type
                cannot be described; the message names the parameter.
        """

        def build(fn: Callable[..., Any]) -> Tool:
            return _make_tool(
                fn,
                name=name,
                description=description,
                parameters=parameters,
                follow_up=follow_up,
                timeout=timeout,
            )

        if function is None:

            def decorator(fn: F) -> F:
                self._add(build(fn))
                return fn

            return decorator
        self._add(build(function))
        return function

    def unregister(self, name: str) -> None:
        """Remove a tool.

        Raises:
            KeyError: No tool has this name.
        """
        with self._lock:
            if name not in self._tools:
                raise KeyError(f"no tool named {name!r}")
            del self._tools[name]
        self._changed()

    def get(self, name: str) -> Tool | None:
        """The tool with this name, or ``None``."""
        with self._lock:
            return self._tools.get(name)

    @property
    def names(self) -> tuple[str, ...]:
        """The registered names, in registration order."""
        with self._lock:
            return tuple(self._tools)

    def definitions(self) -> list[ev.FunctionTool]:
        """The tools as the session configuration lists them, in registration order."""
        with self._lock:
            return [tool.definition for tool in self._tools.values()]

    def __len__(self) -> int:
        with self._lock:
            return len(self._tools)

    def __contains__(self, name: object) -> bool:
        with self._lock:
            return name in self._tools

    def __iter__(self) -> Iterator[Tool]:
        with self._lock:
            return iter(list(self._tools.values()))

    def _add(self, tool: Tool) -> None:
        with self._lock:
            if tool.name in self._tools:
                raise ValueError(f"a tool named {tool.name!r} is already registered")
            self._tools[tool.name] = tool
        self._changed()


def _make_tool(
    function: Callable[..., Any],
    *,
    name: str | None,
    description: str | None,
    parameters: Mapping[str, Any] | None,
    follow_up: bool,
    timeout: float | None,
) -> Tool:
    if not callable(function):
        raise TypeError(f"a tool must be callable, got {type(function).__name__}")
    tool_name = name if name is not None else getattr(function, "__name__", "")
    if not _NAME.match(tool_name):
        raise ValueError(
            f"invalid tool name {tool_name!r}: use 1 to 64 letters, digits, '_' or '-'"
        )
    if timeout is not None and not timeout > 0:
        raise ValueError(f"tool {tool_name!r}: timeout must be positive, got {timeout}")
    summary, arg_docs = parse_docstring(inspect.getdoc(function))
    if parameters is not None:
        if parameters.get("type") != "object":
            raise ValueError(
                f"tool {tool_name!r}: parameters must be a JSON Schema with "
                f'"type": "object", got {dict(parameters)!r}'
            )
        schema: dict[str, Any] = json.loads(json.dumps(parameters))  # a private, plain copy
        signature = None
    else:
        signature = Signature(function, tool_name=tool_name, descriptions=arg_docs)
        schema = signature.schema
    return Tool(
        name=tool_name,
        description=description if description is not None else summary,
        parameters=schema,
        function=function,
        follow_up=follow_up,
        timeout=timeout,
        signature=signature,
    )
