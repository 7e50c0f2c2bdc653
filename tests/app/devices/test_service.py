"""Presence and commands in the database, as every web process sees them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.devices import service
from app.devices.protocol import parse_hello
from app.models import DeviceConnection
from app.services.errors import BadRequest, Conflict

HELLO = parse_hello(
    {
        "hello": {
            "apiKey": "k",
            "deviceId": "board",
            "deviceType": "SIM",
            "sensors": [{"name": "Accelerometer", "maxSampleLengthS": 10, "frequencies": [100]}],
        }
    }
)


def test_a_command_is_claimed_once_and_a_stale_device_is_gone(session, make_project):
    pid = make_project().project.id
    service.register_connection(session, pid, HELLO, process_key="p1", connection_key="c1")
    command = service.start_sampling(
        session,
        pid,
        "board",
        label="wave",
        length_ms=1000,
        category="training",
        sensor="Accelerometer",
    )
    session.commit()
    with pytest.raises(Conflict, match="still busy with sample request"):
        service.start_sampling(
            session,
            pid,
            "board",
            label="wave",
            length_ms=1000,
            category="training",
            sensor="Accelerometer",
        )
    assert [c.id for c in service.claim_pending(session, "p2")] == []  # addressed to p1 only
    assert [c.id for c in service.claim_pending(session, "p1")] == [command.id]
    assert (
        service.claim(session, command.id) is None
    )  # a second claim (the other path) gets nothing
    service.set_status(session, command.id, "finished", progress=100)
    service.set_status(
        session, command.id, "reading", progress=10
    )  # a late message cannot undo the end
    assert service.get_command(session, pid, "board", command.id).status == "finished"
    with pytest.raises(BadRequest, match="does not sample at 50 Hz"):
        service.start_sampling(
            session,
            pid,
            "board",
            label="x",
            length_ms=100,
            category="training",
            sensor="Accelerometer",
            frequency_hz=50,
        )
    # a process that stopped refreshing its connections: the device counts as disconnected
    row = session.query(DeviceConnection).one()
    row.heartbeat_at = row.heartbeat_at - timedelta(seconds=service.STALE_AFTER_S + 1)
    session.flush()
    assert service.connected_devices(session, pid) == []
    with pytest.raises(Conflict, match="not connected"):
        service.start_sampling(
            session,
            pid,
            "board",
            label="x",
            length_ms=100,
            category="training",
            sensor="Accelerometer",
        )
    assert service.heartbeat(session, "p1") == {"c1"}
    assert [c.row.device_id for c in service.connected_devices(session, pid)] == ["board"]
    service.forget_process(session, "p1")
    assert service.connected_devices(session, pid) == []
