"""The test clients' inbox (tests/integration/socket_inbox.py): events handled out of the order the server sent
them (python-socketio's threaded client runs each handler in its own thread) are still all there to wait on."""

import threading

import pytest

from tests.integration.socket_inbox import Inbox


def test_an_event_handled_before_the_one_sent_first_is_kept_for_its_wait():
    inbox = Inbox()
    inbox.put("agent_move", {"turn": 3})
    inbox.put("state", {"turn": 3, "to_act": "agent"})
    assert inbox.wait("state", lambda m: m["turn"] == 3)["to_act"] == "agent"
    assert inbox.wait("agent_move", lambda m: m["turn"] == 3) == {"turn": 3}
    assert [e for e, _ in inbox.seen] == ["agent_move", "state"]


def test_a_wait_takes_an_event_once_and_wakes_when_it_arrives():
    inbox = Inbox()
    threading.Timer(0.05, inbox.put, ("state", {"turn": 1})).start()
    assert inbox.wait("state", timeout=30) == {"turn": 1}
    with pytest.raises(AssertionError, match="stall: no state"):
        inbox.wait("state", timeout=0.05)


def test_an_error_pending_fails_the_wait_at_once_when_asked_to():
    inbox = Inbox()
    inbox.put("error", {"code": "internal"})
    with pytest.raises(AssertionError, match="internal"):
        inbox.wait("state", timeout=30, raise_on="error")
