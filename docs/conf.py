"""Sphinx configuration for realtime_client's documentation."""

from __future__ import annotations

import importlib
import ssl
import sys
from pathlib import Path
from typing import get_args

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))

import realtime_client  # noqa: E402
from realtime_client import events as ev  # noqa: E402
from realtime_client.events._base import wire_type  # noqa: E402

project = "realtime_client"
author = "The realtime_client developers"
copyright = "2026, The realtime_client developers"
release = realtime_client.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.doctest",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "_generated"]
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_mock_imports = ["sounddevice", "soxr"]
autodoc_default_options = {"members": True, "show-inheritance": False}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
# "ref.python": `object` in type hints also names the many `.object` attributes.
suppress_warnings = ["myst.xref_missing", "ref.python"]

# The package imports ssl for type checking only, so that it loads with the first
# connection rather than with the package (benchmarks/import_time.py); autodoc resolves
# annotations in each module's namespace, so the docs build gives it the name.
vars(importlib.import_module("realtime_client.client")).setdefault("ssl", ssl)

html_theme = "furo"
html_title = f"realtime_client {release}"


def _event_table() -> str:
    """The wire type to class table, generated from the unions so it cannot drift."""
    lines = []
    for title, union in (("Client events", ev.ClientEvent), ("Server events", ev.ServerEvent)):
        classes = sorted(get_args(union), key=wire_type)
        lines += [f"### {title} ({len(classes)})", "", "| wire type | class |", "|---|---|"]
        lines += [
            f"| `{wire_type(c)}` | {{class}}`~realtime_client.events.{c.__name__}` |"
            for c in classes
        ]
        lines.append("")
    return "\n".join(lines)


generated = HERE / "_generated"
generated.mkdir(exist_ok=True)
table = generated / "event_table.md"
text = _event_table()
if not table.exists() or table.read_text() != text:
    table.write_text(text)


def _translation_table() -> str:
    """The translation protocol's wire type to class table, from its unions."""
    from realtime_client.events import translation as tev

    lines = []
    for title, union in (("Client events", tev.ClientEvent), ("Server events", tev.ServerEvent)):
        classes = sorted(get_args(union), key=wire_type)
        lines += [f"### Translation {title.lower()} ({len(classes)})", ""]
        lines += ["| wire type | class |", "|---|---|"]
        for c in classes:
            module = "events" if c is ev.ErrorEvent else "events.translation"
            lines.append(
                f"| `{wire_type(c)}` | {{class}}`~realtime_client.{module}.{c.__name__}` |"
            )
        lines.append("")
    return "\n".join(lines)


translation_table = generated / "translation_event_table.md"
translation_text = _translation_table()
if not translation_table.exists() or translation_table.read_text() != translation_text:
    translation_table.write_text(translation_text)
