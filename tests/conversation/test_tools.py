"""ToolRegistry schemas and ToolRunner failure modes, timeouts, parallel calls, close."""

from __future__ import annotations

import enum
import json
import re
import threading
from typing import Annotated, Any, Literal, Optional

import pytest

from realtime_client import events as ev
from realtime_client._tool_runner import ToolBatch, ToolRunner
from realtime_client._turns import TurnAccumulator
from realtime_client.messages import FunctionCall
from realtime_client.tools import ToolRegistry

from ._build import Ids, call_turn
from .test_turns import feed_all

WAIT = 10.0  # generous upper bound for anything that should be quick


class Unit(enum.Enum):
    CELSIUS = "C"
    FAHRENHEIT = "F"


def get_weather(
    city: str,
    /,
    *,
    unit: Unit = Unit.CELSIUS,
    days: int = 1,
    detail: Literal["short", "long"] = "short",
    tags: Optional[list[str]] = None,  # noqa: UP045 - Optional is what is being tested
    ratio: float | None = None,
    extra: Annotated[bool, "Whether to add extras."] = False,
) -> dict[str, Any]:
    """Current weather for a city.

    Longer text that is not part of the summary.

    Args:
        city: The city name,
            such as "Paris".
        unit (Unit): The temperature unit.
        days: How many days to forecast.

    Returns:
        The weather.
    """
    return {
        "city": city,
        "unit": unit.value,
        "days": days,
        "detail": detail,
        "tags": tags,
        "ratio": ratio,
        "extra": extra,
    }


def call(name: str, arguments: str, n: int = 1) -> FunctionCall:
    return FunctionCall(
        name=name, call_id=f"call_{n}", arguments=arguments, item_id=f"i{n}", response_id="resp_1"
    )


@pytest.fixture
def registry() -> ToolRegistry:
    return ToolRegistry()


@pytest.fixture
def runner(registry):
    runner = ToolRunner(registry, max_workers=2, timeout=5.0)
    yield runner
    runner.close(timeout=WAIT)


def run(runner: ToolRunner, *calls: FunctionCall) -> ToolBatch:
    batch = runner.submit(calls)
    assert batch.wait(WAIT)
    return batch


# --- the registry --------------------------------------------------------------------------


def test_schema_from_signature_and_docstring(registry):
    assert registry.register(get_weather) is get_weather
    [definition] = registry.definitions()
    assert definition == ev.FunctionTool(
        name="get_weather",
        description="Current weather for a city.",
        parameters={
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": 'The city name, such as "Paris".'},
                "unit": {
                    "type": "string",
                    "enum": ["C", "F"],
                    "description": "The temperature unit.",
                    "default": "C",
                },
                "days": {
                    "type": "integer",
                    "description": "How many days to forecast.",
                    "default": 1,
                },
                "detail": {"type": "string", "enum": ["short", "long"], "default": "short"},
                "tags": {"type": ["array", "null"], "items": {"type": "string"}, "default": None},
                "ratio": {"type": ["number", "null"], "default": None},
                "extra": {
                    "type": "boolean",
                    "description": "Whether to add extras.",
                    "default": False,
                },
            },
            "required": ["city"],
            "additionalProperties": False,
        },
    )
    # The definition encodes inside a session.update.
    frame = ev.encode_client_event(
        ev.SessionUpdateEvent(session=ev.RealtimeSessionConfig(tools=registry.definitions()))
    )
    assert json.loads(frame)["session"]["tools"][0]["name"] == "get_weather"


def test_decorator_forms_and_explicit_schema(registry):
    @registry.register
    def ping() -> str:
        return "pong"

    schema = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}

    @registry.register(
        name="search-web", description="Search.", parameters=schema, follow_up=False, timeout=1.5
    )
    def search(**kwargs: Any) -> str:
        return json.dumps(kwargs)

    assert registry.names == ("ping", "search-web")
    assert "ping" in registry
    assert len(registry) == 2
    tool = registry.get("search-web")
    assert tool is not None
    assert tool.parameters == schema
    assert tool.parameters is not schema  # a private copy
    assert not tool.follow_up
    assert tool.timeout == 1.5
    assert registry.get("ping").parameters == {  # type: ignore[union-attr]
        "type": "object",
        "properties": {},
        "required": [],
        "additionalProperties": False,
    }
    assert [t.name for t in registry] == ["ping", "search-web"]
    registry.unregister("ping")
    assert registry.names == ("search-web",)
    with pytest.raises(KeyError, match="no tool named 'ping'"):
        registry.unregister("ping")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"name": "has space"}, ValueError, "invalid tool name 'has space'"),
        ({"timeout": 0}, ValueError, "timeout must be positive"),
        ({"parameters": {"type": "string"}}, ValueError, 'must be a JSON Schema with "type"'),
    ],
)
def test_register_rejects_bad_options(registry, kwargs, error, match):
    def fn() -> None:
        """Nothing."""

    with pytest.raises(error, match=match):
        registry.register(fn, **kwargs)


def test_register_rejects_duplicates_and_untyped(registry):
    registry.register(get_weather)
    with pytest.raises(ValueError, match="'get_weather' is already registered"):
        registry.register(get_weather)

    def untyped(x):  # type: ignore[no-untyped-def]
        return x

    with pytest.raises(TypeError, match="parameter 'x' has no type annotation"):
        registry.register(untyped)

    def variadic(*items: str) -> None: ...

    with pytest.raises(TypeError, match="parameter 'items' is variadic"):
        registry.register(variadic)

    def odd(x: complex) -> None: ...

    with pytest.raises(TypeError, match=r"parameter 'x'.*cannot describe type"):
        registry.register(odd)

    with pytest.raises(TypeError, match="must be callable"):
        registry.register(42)  # type: ignore[call-overload]


# --- the runner ----------------------------------------------------------------------------


def test_successful_call_converts_arguments(registry, runner):
    registry.register(get_weather)
    batch = run(runner, call("get_weather", '{"city": "Paris", "unit": "F", "tags": ["a"]}'))
    [result] = batch.results
    assert result.ok
    assert json.loads(result.output) == {
        "city": "Paris",
        "unit": "F",
        "days": 1,
        "detail": "short",
        "tags": ["a"],
        "ratio": None,
        "extra": False,
    }
    assert result.follow_up
    [create, follow] = batch.events()
    assert isinstance(create, ev.ConversationItemCreateEvent)
    assert create.item == ev.FunctionCallOutputItem(call_id="call_1", output=result.output)
    assert isinstance(follow, ev.ResponseCreateEvent)


def test_string_results_are_sent_as_is(registry, runner):
    registry.register(lambda: "plain text", name="say")
    [result] = run(runner, call("say", "")).results
    assert result.output == "plain text"


def error_of(batch: ToolBatch) -> str:
    [result] = batch.results
    assert not result.ok
    assert result.follow_up  # the model must hear of the failure
    assert json.loads(result.output) == {"error": result.error}
    return result.error or ""


def test_unknown_tool(registry, runner):
    registry.register(get_weather)
    assert error_of(run(runner, call("get_time", "{}"))) == (
        "unknown tool 'get_time' (available: get_weather)"
    )


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        ('{"city": ', "are not valid JSON"),
        ('["Paris"]', "must be a JSON object, got list"),
        ("{}", "bad arguments for 'get_weather': missing required argument\\(s\\): city"),
        ('{"city": "P", "planet": "Mars"}', "unexpected argument\\(s\\): planet"),
        ('{"city": 3}', "city: expected string, got int 3"),
        ('{"city": "P", "unit": "K"}', "unit: expected one of 'C', 'F', got str 'K'"),
        ('{"city": "P", "days": true}', "days: expected integer, got bool True"),
        ('{"city": "P", "detail": "mid"}', "detail: expected one of 'short', 'long'"),
        ('{"city": "P", "tags": ["a", 1]}', "tags\\[1\\]: expected string"),
    ],
)
def test_bad_arguments(registry, runner, arguments, match):
    registry.register(get_weather)
    assert re.search(match, error_of(run(runner, call("get_weather", arguments))))


def test_exception_becomes_error_output(registry, runner, caplog):
    @registry.register
    def explode() -> None:
        raise RuntimeError("database down")

    assert error_of(run(runner, call("explode", "{}"))) == (
        "tool 'explode' raised RuntimeError: database down"
    )
    assert "tool 'explode' raised" in caplog.text


def test_value_error_from_tool_is_not_mistaken_for_bad_arguments(registry, runner):
    @registry.register
    def picky(n: int) -> int:
        raise ValueError("n must be prime")

    assert error_of(run(runner, call("picky", '{"n": 4}'))) == (
        "tool 'picky' raised ValueError: n must be prime"
    )


def test_result_that_is_not_json(registry, runner):
    def weird() -> object:
        return object()

    registry.register(weird)
    assert "returned a value that is not JSON" in error_of(run(runner, call("weird", "{}")))


def test_timeout_answers_and_frees_the_pool(registry):
    release = threading.Event()
    started = threading.Event()

    @registry.register(timeout=0.2)
    def hang() -> str:
        started.set()
        release.wait(WAIT)
        return "late"

    @registry.register
    def quick() -> str:
        return "fast"

    runner = ToolRunner(registry, max_workers=1, timeout=5.0)
    try:
        batch = runner.submit([call("hang", "{}")])
        assert started.wait(WAIT)
        assert batch.wait(WAIT)
        assert error_of(batch) == "tool 'hang' did not finish within 0.2 s"
        # The only worker is stuck in hang(); a replacement serves the next call.
        assert run(runner, call("quick", "{}", n=2)).results[0].output == "fast"
    finally:
        release.set()
        runner.close(timeout=WAIT)


def test_parallel_calls_answered_together_in_call_order(registry, runner):
    both_running = threading.Barrier(2, timeout=WAIT)

    @registry.register
    def first(x: int) -> int:
        both_running.wait()  # proves the two calls run at the same time
        return x * 2

    @registry.register(follow_up=False)
    def second(x: int) -> int:
        both_running.wait()
        return x + 1

    [turn] = feed_all(
        TurnAccumulator(),
        call_turn(Ids(), [("first", '{"x": 5}'), ("second", '{"x": 5}')]),
    )
    batch = runner.submit(turn.function_calls)
    done = threading.Event()
    seen: list[ToolBatch] = []
    batch.add_done_callback(lambda b: (seen.append(b), done.set()))
    assert done.wait(WAIT)
    assert seen == [batch]
    assert [r.output for r in batch.results] == ["10", "6"]
    assert batch.follow_up  # one tool still wants a follow-up
    events = batch.events()
    assert [type(e) for e in events] == [
        ev.ConversationItemCreateEvent,
        ev.ConversationItemCreateEvent,
        ev.ResponseCreateEvent,
    ]
    assert [e.item.call_id for e in events[:2]] == [c.call_id for c in turn.function_calls]


def test_follow_up_opt_out(registry, runner):
    registry.register(lambda: "shown", name="show_card", follow_up=False)
    batch = run(runner, call("show_card", "{}"))
    assert not batch.follow_up
    assert [type(e) for e in batch.events()] == [ev.ConversationItemCreateEvent]


def test_callback_added_after_done_runs_at_once_and_errors_are_logged(registry, runner, caplog):
    batch = run(runner, call("nothing", "{}"))
    ran = []
    batch.add_done_callback(ran.append)
    batch.add_done_callback(lambda b: 1 / 0)
    assert ran == [batch]
    assert "a tool batch callback raised" in caplog.text


def test_empty_batch(runner):
    batch = runner.submit([])
    assert batch.done()
    assert batch.events() == []


def test_results_before_done_is_an_error(registry, runner):
    """Reading results early raises instead of giving a partial answer, and a batch
    refuses cancel(): the model always gets an output for every call."""
    release = threading.Event()
    registry.register(lambda: release.wait(WAIT), name="slow")
    batch = runner.submit([call("slow", "{}")])
    try:
        with pytest.raises(RuntimeError, match="not done yet"):
            batch.results  # noqa: B018
        assert not batch.cancel()  # the model gets every answer: a batch is not cancelled
    finally:
        release.set()
    assert batch.wait(WAIT)


def test_close_answers_pending_calls_and_stops_threads(registry):
    """close() answers every unfinished call of a batch with an error at once (the model
    always gets an answer), refuses later calls, and leaves no tool thread behind."""
    release = threading.Event()
    started = threading.Event()

    @registry.register
    def block() -> str:
        started.set()
        release.wait(WAIT)
        return "done"

    runner = ToolRunner(registry, max_workers=1)
    batch = runner.submit([call("block", "{}"), call("block", "{}", n=2)])
    assert started.wait(WAIT)
    # Close while the first call is still inside its tool: the batch is answered at
    # once, without waiting for the function; only then does the tool return.
    closer = threading.Thread(target=runner.close, kwargs={"timeout": WAIT}, name="test-closer")
    closer.start()
    assert batch.wait(WAIT)
    assert runner.closed
    release.set()
    closer.join(WAIT)
    assert not closer.is_alive()
    errors = [r.error for r in batch.results]
    assert "the session closed before the tool finished" in errors
    runner.close()  # idempotent
    late = runner.submit([call("block", "{}", n=3)])
    assert late.done()
    assert error_of(late) == "the session closed before the tool could run"
    assert not [
        t for t in threading.enumerate() if t.name.startswith("realtime-tool-") and t.is_alive()
    ]


def test_runner_rejects_bad_limits(registry):
    with pytest.raises(ValueError, match="max_workers must be at least 1"):
        ToolRunner(registry, max_workers=0)
    with pytest.raises(ValueError, match="timeout must be positive"):
        ToolRunner(registry, timeout=0)


def test_many_batches_run_at_most_max_workers_at_once_and_leave_no_thread(registry, runner):
    """200 tool calls submitted at once all get their answer, in order; no more than
    ``max_workers`` (2) run at the same time; and once they are answered no tool
    thread stays behind (an app with many tool calls does not pile up threads)."""
    lock = threading.Lock()
    running = [0, 0]  # now, peak

    def echo(n: int) -> int:
        with lock:
            running[0] += 1
            running[1] = max(running[1], running[0])
        try:
            return n
        finally:
            with lock:
                running[0] -= 1

    registry.register(echo, name="echo", parameters={"type": "object"})
    batches = [runner.submit([call("echo", json.dumps({"n": i}), n=i)]) for i in range(200)]
    assert all(b.wait(WAIT) for b in batches)
    assert [b.results[0].output for b in batches] == [str(i) for i in range(200)]
    assert running[1] <= 2
    for t in [t for t in threading.enumerate() if t.name.startswith("realtime-tool-")]:
        t.join(WAIT)  # a thread that answered may still be returning
        assert not t.is_alive(), t.name


def test_close_from_inside_a_tool_does_not_call_its_own_thread_stuck(registry, runner, caplog):
    """A tool that closes the runner is not reported as a thread stuck in a tool:
    it is the caller, and returns right after."""

    closed = threading.Event()

    @registry.register
    def stop() -> str:
        """Stop."""
        runner.close(timeout=WAIT)
        closed.set()
        return "ok"

    run(runner, FunctionCall(name="stop", call_id="c1", arguments="{}"))
    assert closed.wait(WAIT)
    assert "still inside a tool function" not in caplog.text


def test_a_tool_raising_systemexit_is_answered_at_once(registry, runner):
    """A tool that raises something that is not an Exception (SystemExit) still gets
    its error output at once, not at its time limit, and the runner goes on."""

    @registry.register(timeout=600)
    def leave() -> None:
        raise SystemExit(3)

    registry.register(lambda: "still here", name="after")
    batch = runner.submit([call("leave", "{}")])
    assert batch.wait(WAIT)
    assert error_of(batch) == "tool 'leave' raised SystemExit: 3"
    assert run(runner, call("after", "{}", n=2)).results[0].output == "still here"
