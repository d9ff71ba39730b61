"""NumPy for the audio package, or an AudioError naming the extra to install.

Every module of :mod:`realtime_client.audio` that needs NumPy imports it from
here, so ``import realtime_client.audio`` without NumPy fails with one clear
message instead of a bare ``ModuleNotFoundError``.
"""

from __future__ import annotations

from ..errors import AudioError

NUMPY_HINT = (
    "realtime_client.audio needs NumPy: install the audio extra with "
    "pip install 'realtime-client[audio]'"
)

try:
    import numpy as np
    import numpy.typing as npt
except ImportError as exc:
    raise AudioError(NUMPY_HINT) from exc

__all__ = ["NUMPY_HINT", "np", "npt"]
