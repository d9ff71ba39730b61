"""What importing the package costs: names load on first use, heavy modules with their use.

Each check runs in a fresh interpreter (the test process has imported everything long
before), and reports back as JSON.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import pathlib
import subprocess
import sys
from typing import Any

import pytest

import realtime_client
from realtime_client import events as ev

# Modules that only some programs need, loaded when those programs first use them. The
# websocket-client and ssl imports of the transport are left out here: they are made lazy
# in realtime_client/_transport.py (a separate change), and belong in this list with it.
_HEAVY_FOR_THE_CLIENT = (
    "websocket",  # websocket-client: the handshake, with the first connection
    "ssl",  # TLS: with the first wss:// connection, or an ssl_context given
    "cattrs",  # the converter: built on the first decode or encode
    "http.client",  # the REST calls (client secrets, call control)
    "email.parser",  # http.client's header parsing
    "email.utils",  # Retry-After as an HTTP date
    "secrets",  # a multipart boundary for a SIP/WebRTC call (with hmac and hashlib)
    "realtime_client.audio",  # never through the package: NumPy, PortAudio
    "realtime_client.testing",
)


def _run(code: str) -> Any:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(out.stdout)


def _type_checking_imports(module: Any) -> dict[str, str]:
    """Name to module of the ``from X import name`` lines under ``if TYPE_CHECKING:``."""
    tree = ast.parse(pathlib.Path(module.__file__).read_text())
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for item in node.body:
                if isinstance(item, ast.ImportFrom) and item.module:
                    home = importlib.util.resolve_name(
                        "." * item.level + item.module, module.__name__
                    )
                    found.update({alias.name: home for alias in item.names})
    return found


def _loaded_after(statement: str) -> list[str]:
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    loaded: list[str] = _run(code)
    return loaded


class TestImportCost:
    def test_import_realtime_client_loads_nothing_else(self) -> None:
        """`import realtime_client` alone loads no other module of the package, nor attrs."""
        loaded = _loaded_after("import realtime_client")

        ours = [m for m in loaded if m.startswith("realtime_client")]
        assert ["realtime_client"] == ours
        assert [] == [m for m in ("attrs", "cattrs", "ssl", "websocket") if m in loaded]

    def test_events_package_builds_no_model_until_used(self) -> None:
        """`import realtime_client.events` builds no event class until a name is used."""
        loaded = _loaded_after("import realtime_client.events")

        assert ["realtime_client", "realtime_client.events"] == [
            m for m in loaded if m.startswith("realtime_client")
        ]

    def test_the_client_does_not_load_what_only_some_programs_use(self) -> None:
        """Importing ConversationClient leaves the REST calls and the converter to first use."""
        loaded = set(_loaded_after("from realtime_client import ConversationClient"))

        assert [] == [m for m in _HEAVY_FOR_THE_CLIENT if m in loaded]

    def test_what_was_left_out_loads_when_used(self) -> None:
        """The converter and the translation model load when first used, and work."""
        result = _run(
            "import json, sys\n"
            "from realtime_client import ConversationClient, events\n"
            "from realtime_client.events import translation as tev\n"
            "event = events.decode_server_event("
            '\'{"type":"input_audio_buffer.cleared","event_id":"e"}\')\n'
            "print(json.dumps([type(event).__name__, 'cattrs' in sys.modules,"
            " tev.TranslationSession.__name__]))"
        )

        assert ["InputAudioBufferClearedEvent", True, "TranslationSession"] == result


class TestNamesResolve:
    @pytest.mark.parametrize("module", ["realtime_client", "realtime_client.events"])
    def test_every_public_name_resolves_in_a_fresh_interpreter(self, module: str) -> None:
        """Every name in __all__ imports from the package as before, in a fresh interpreter."""
        names = _run(
            f"import json, {module} as m\n"
            "print(json.dumps([n for n in m.__all__ if getattr(m, n, None) is None]))"
        )

        assert [] == names

    def test_public_modules_are_attributes_of_the_package(self) -> None:
        """After a plain `import realtime_client`, `realtime_client.messages` (say) works as before."""
        names = _run(
            "import json, realtime_client\n"
            "print(json.dumps([realtime_client.messages.MessageKind.__name__,"
            " realtime_client.usage.Prices.__name__, realtime_client.session.__name__]))"
        )

        assert ["MessageKind", "Prices", "realtime_client.session"] == names

    def test_star_import_gets_every_name(self) -> None:
        """`from realtime_client.events import *` binds every name of __all__."""
        missing = _run(
            "import json\n"
            "from realtime_client.events import *\n"
            "import realtime_client.events as m\n"
            "print(json.dumps([n for n in m.__all__ if n not in globals()]))"
        )

        assert [] == missing

    def test_names_are_the_objects_of_their_modules(self) -> None:
        """A name from the package is the very object its module defines (isinstance works)."""
        from realtime_client import _config, client, errors, session
        from realtime_client.events import _codec, server

        assert realtime_client.ConversationClient is client.ConversationClient
        assert realtime_client.ConversationSession is session.ConversationSession
        assert realtime_client.ConversationOptions is _config.ConversationOptions
        assert realtime_client.ProtocolError is errors.ProtocolError
        assert realtime_client.events is ev
        assert ev.ResponseDoneEvent is server.ResponseDoneEvent
        assert ev.decode_server_event is _codec.decode_server_event

    @pytest.mark.parametrize("module", [realtime_client, ev])
    def test_each_name_is_the_object_its_type_checking_import_names(self, module: Any) -> None:
        """Every name resolves to what type checkers are told it is: the declared import."""
        declared = _type_checking_imports(module)

        assert set(module.__all__) - {"events"} <= set(declared)
        for name, home in declared.items():
            assert getattr(module, name) is getattr(importlib.import_module(home), name), name

    @pytest.mark.parametrize("module", [realtime_client, ev])
    def test_dir_lists_every_public_name(self, module: Any) -> None:
        """dir() (what autodoc and editors read) lists every public name before its first use."""
        assert set(module.__all__) <= set(dir(module))

    @pytest.mark.parametrize("module", [realtime_client, ev])
    def test_a_misspelt_name_raises_attribute_error(self, module: Any) -> None:
        """A name the package does not have fails as for any module, naming the name."""
        with pytest.raises(AttributeError, match="has no attribute 'ConversationClinet'"):
            _ = module.ConversationClinet
        with pytest.raises(ImportError, match="ConversationClinet"):
            exec(f"from {module.__name__} import ConversationClinet", {})
