"""The JSON module of the Socket.IO transport (passed to Flask-SocketIO as `json=`): orjson writes what the
server sends, about 5x faster than the standard library on our `state` messages (part of issue #14's cut of
the CPU per move). What clients send is read by the standard library, which keeps lone surrogates and the
like as text for server/messages.py to refuse with a clear error (orjson would reject the whole packet).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def dumps(obj: Any, **kwargs: Any) -> str:
    """Compact JSON text of `obj` (Socket.IO's `separators` and other keywords are orjson's defaults)."""
    try:
        return orjson.dumps(obj, option=_OPTIONS).decode()
    except TypeError:  # what orjson does not write (e.g. lone surrogates in text): the standard library's way
        return json.dumps(obj, separators=(",", ":"))


loads = json.loads
