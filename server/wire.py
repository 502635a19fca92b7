"""How the Socket.IO transport writes messages (part of issue #14's cut of the CPU per move).

- The JSON module (passed to Flask-SocketIO as `json=`): orjson writes what the server sends, about 5x faster
  than the standard library on our `state` messages. What clients send is read by the standard library, which
  keeps lone surrogates and the like as text for server/messages.py to refuse with a clear error (orjson would
  reject the whole packet).
- The packet class (passed as `serializer=`): the protocol is JSON text only, so no outgoing message is
  searched for binary attachments. python-socketio walks every nested list and dict of a message looking
  for bytes before it sends it: 0.24 ms for a Hanabi `state` at turn 24, growing with the move log, more
  than writing the JSON itself (0.008 ms). Incoming binary packets are still decoded, and refused by
  server/messages.py like any other malformed message.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from socketio import packet

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def dumps(obj: Any, **kwargs: Any) -> str:
    """Compact JSON text of `obj` (Socket.IO's `separators` and other keywords are orjson's defaults)."""
    try:
        return orjson.dumps(obj, option=_OPTIONS).decode()
    except TypeError:  # what orjson does not write (e.g. lone surrogates in text): the standard library's way
        return json.dumps(obj, separators=(",", ":"))


loads = json.loads


class Packet(packet.Packet):
    """A Socket.IO packet that never turns into a binary event: the server sends JSON text only."""

    uses_binary_events = False
