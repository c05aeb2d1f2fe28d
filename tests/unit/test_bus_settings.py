"""The bus settings every distributed service gets from its environment."""

from __future__ import annotations

from beacon_runtime.adapters import build_bus, retry_policy
from beacon_runtime.settings import ServiceSettings


def test_a_publish_fails_within_two_seconds_by_default():
    bus = build_bus(ServiceSettings(amqp_url="amqp://guest:guest@127.0.0.1:1/"))
    assert bus.publish_timeout_s <= 2.0


def test_publish_timeout_and_wait_back_off_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("BUS_PUBLISH_TIMEOUT_S", "0.5")
    monkeypatch.setenv("BUS_WAIT_MAX_DELAY_S", "1.5")
    settings = ServiceSettings(amqp_url="amqp://guest:guest@127.0.0.1:1/")
    assert build_bus(settings).publish_timeout_s == 0.5
    assert retry_policy(settings).max_wait_delay_s == 1.5
    assert max(retry_policy(settings).wait_delays()) == 1.5
