import dataclasses
import json
import typing

import pytest

from callcenter.core import events
from callcenter.core.events import (
    ChannelHungUp,
    Event,
    UnknownEventKind,
    event_kinds,
    from_dict,
    from_json,
)

SAMPLES = {str: "Zoë 张", int: 34, float: 1795731524.907, bool: True}


def sample(cls: type[Event]) -> Event:
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, object] = {}
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        if typing.get_origin(hint) is tuple:
            kwargs[f.name] = ("1795731524.1", "1795731524.2")
        elif typing.get_origin(hint) is typing.Literal:
            kwargs[f.name] = typing.get_args(hint)[0]
        else:
            kwargs[f.name] = SAMPLES.get(hint, "x")
    return cls(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", sorted(event_kinds()))
def test_every_event_round_trips_through_json(kind: str) -> None:
    original = sample(event_kinds()[kind])
    text = original.to_json()
    data = json.loads(text)
    assert data["kind"] == kind
    assert data["version"] == original.version
    assert {"pbx", "call_id", "channel_id", "at", "source"} <= set(data)
    assert from_json(text) == original


def test_events_are_frozen() -> None:
    event = ChannelHungUp(pbx="main", call_id="1.0", channel_id="1.1", at=1.0, channel="PJSIP/x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.cause = 17  # type: ignore[misc]


def test_unknown_kind_and_wrong_version_are_refused() -> None:
    with pytest.raises(UnknownEventKind):
        from_dict({"kind": "nope"})
    data = sample(ChannelHungUp).to_dict()
    data["version"] = 99
    with pytest.raises(ValueError, match="version 99"):
        from_dict(data)


def test_every_event_class_is_registered() -> None:
    classes = {
        obj
        for obj in vars(events).values()
        if isinstance(obj, type) and issubclass(obj, Event) and obj is not Event
    }
    assert classes == set(event_kinds().values())
