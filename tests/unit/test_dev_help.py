"""`beacon-dev --help` prints its usage and exits: it never builds or starts the stack."""

from __future__ import annotations

import subprocess
import sys

import pytest

from beacon_embedded import main


def test_help_exits_before_anything_is_built(monkeypatch, capsys):
    def must_not_run(*_args, **_kwargs):
        raise AssertionError("--help built the stack")

    monkeypatch.setattr(main, "build_stack", must_not_run)
    monkeypatch.setattr(main, "GatewaySettings", must_not_run)
    with pytest.raises(SystemExit) as exit_info:
        main.run(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: beacon-dev") and "PORT" in out


def test_unknown_arguments_are_an_error_not_a_server(monkeypatch):
    monkeypatch.setattr(main, "build_stack", lambda *_: pytest.fail("started"))
    with pytest.raises(SystemExit) as exit_info:
        main.run(["--port", "1"])
    assert exit_info.value.code == 2


def test_the_console_script_entry_exits_on_help():
    # A deadline against a server that would never exit, not a speed claim.
    result = subprocess.run([sys.executable, "-m", "beacon_embedded.main", "--help"],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "usage: beacon-dev" in result.stdout
