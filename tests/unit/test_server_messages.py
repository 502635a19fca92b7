"""Client message checks (server/messages.py) and the server's config (server/config.py)."""

import pytest

from server import messages
from server.config import DEFAULTS, load_config
from server.messages import ProtocolError


def test_start_game_fills_the_optional_fields():
    msg = messages.parse_start_game({"game": "say-select", "partner": "instructq"})
    assert (msg.seat, msg.seed, msg.participant, msg.instruction) == (0, None, None, None)


@pytest.mark.parametrize("payload,fragment", [
    (None, "JSON object"),
    ({"game": "say-select"}, '"partner" is missing'),
    ({"game": 3, "partner": "x"}, '"game" must be a string'),
    ({"game": "say-select", "partner": "x", "seed": 1.5}, '"seed" must be an integer'),
    ({"game": "say-select", "partner": "x", "participant": "p" * 65}, "too long"),
])
def test_bad_start_game_says_what_is_wrong(payload, fragment):
    with pytest.raises(ProtocolError) as e:
        messages.parse_start_game(payload)
    assert e.value.code == "bad_message" and fragment in e.value.message


def test_request_id_is_kept_only_when_a_string_or_int():
    assert messages.request_id({"request_id": "a"}) == "a"
    assert messages.request_id({"request_id": 3}) == 3
    assert messages.request_id({"request_id": True}) is None
    assert messages.request_id({"request_id": [1]}) is None
    assert messages.request_id("x") is None


def test_explain_turn_is_optional_and_not_negative():
    assert messages.parse_explain({"game_id": "g"}).turn is None
    assert messages.parse_explain({"game_id": "g", "turn": 3}).turn == 3
    with pytest.raises(ProtocolError):
        messages.parse_explain({"game_id": "g", "turn": -2})


def test_config_reads_prefixed_variables_with_the_defaults_types():
    config = load_config({"INSTRUCTPLAY_AGENT_DELAY_MS": "0", "INSTRUCTPLAY_PRIOR_TABLE_P": "0.6",
                          "INSTRUCTPLAY_MESSAGE_QUEUE": "redis://h:6379/0", "AGENT_DELAY_MS": "5"})
    assert config["AGENT_DELAY_MS"] == 0 and config["PRIOR_TABLE_P"] == 0.6
    assert config["MESSAGE_QUEUE"] == "redis://h:6379/0"
    assert config["DATABASE_URL"] == DEFAULTS["DATABASE_URL"] and config["SECRET_KEY"]


def test_config_refuses_a_malformed_number():
    with pytest.raises(ValueError, match="INSTRUCTPLAY_PORT"):
        load_config({"INSTRUCTPLAY_PORT": "http"})
