"""The key that seals webhook secrets: checked at start-up, required in production, kept in
the data folder otherwise, rotatable."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from app.cli import main
from app.hooks import KEY_FILE, secret_box, webhook_keys
from app.main import create_app
from app.settings import SettingsError, load_settings
from graph.sealing import SealError, SecretBox, new_key


@pytest.mark.parametrize("value", ["not-a-key", "x" * 44, new_key()[:-1], f"{new_key()},oops"])
def test_a_malformed_key_stops_start_up_without_being_echoed(value):
    with pytest.raises(SettingsError, match="RG_WEBHOOK_KEY must be a Fernet key") as raised:
        load_settings({"RG_WEBHOOK_KEY": value})
    assert value not in str(raised.value)


def test_several_keys_rotate_the_first_encrypting_all_opening():
    old, new = new_key(), new_key()
    sealed = SecretBox([old]).seal("whsec_1")
    settings = load_settings({"RG_WEBHOOK_KEY": f"{new}, {old}"})
    box = secret_box(settings)
    assert box.open(sealed) == "whsec_1"
    assert SecretBox([new]).open(box.seal("whsec_2")) == "whsec_2"
    with pytest.raises(SealError):
        SecretBox([new]).open(sealed)


def test_production_needs_a_key(settings, store):
    production = replace(settings, env="production", webhook_key=None)
    with pytest.raises(SettingsError, match="RG_WEBHOOK_KEY must be set in production"):
        create_app(production, store=store)


def test_serve_in_production_without_a_key_exits_with_the_reason(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("RG_ENV", "production")
    monkeypatch.setenv("RG_AUTH_SECRET", "s" * 40)
    monkeypatch.delenv("RG_WEBHOOK_KEY", raising=False)
    assert main(["serve", "--data-dir", str(tmp_path)]) == 2
    assert "RG_WEBHOOK_KEY must be set in production" in capsys.readouterr().err


def test_without_a_key_a_local_service_keeps_one_in_its_data_folder(tmp_path):
    settings = load_settings({"RG_DATA_DIR": str(tmp_path / "data")})
    first = webhook_keys(settings)
    path = tmp_path / "data" / KEY_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    assert webhook_keys(settings) == first  # the same after a restart


def test_workers_starting_at_once_end_with_one_key(tmp_path):
    settings = load_settings({"RG_DATA_DIR": str(tmp_path)})
    found: list[list[str]] = []
    threads = [threading.Thread(target=lambda: found.append(webhook_keys(settings)))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({tuple(k) for k in found}) == 1 and len(found) == 8
    assert sorted(p.name for p in tmp_path.iterdir()) == [KEY_FILE]
