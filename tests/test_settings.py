"""Settings: environment, config file, and clear errors naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from rathaus.settings import SettingsError, load_settings


def test_environment_and_config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "rathaus.toml"
    config.write_text('port = 9001\ndefault_model = "qwen2.5-0.5b"\n')
    monkeypatch.setenv("RATHAUS_CONFIG", str(config))
    monkeypatch.setenv("RATHAUS_PORT", "9002")
    settings = load_settings(data_dir=tmp_path)
    assert settings.port == 9002  # the environment wins over the file
    assert settings.default_model == "qwen2.5-0.5b"
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'rathaus.db'}"


def test_invalid_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RATHAUS_PORT", "achtzig")
    with pytest.raises(SettingsError, match="RATHAUS_PORT"):
        load_settings()


def test_missing_config_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RATHAUS_CONFIG", str(tmp_path / "fehlt.toml"))
    with pytest.raises(SettingsError, match="RATHAUS_CONFIG"):
        load_settings()


def test_secret_is_required_outside_demo(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="RATHAUS_SECRET_KEY"):
        load_settings(data_dir=tmp_path).require_secret()
    with pytest.raises(SettingsError, match="RATHAUS_SECRET_KEY"):
        load_settings(data_dir=tmp_path, secret_key="zu-kurz")
    demo = load_settings(data_dir=tmp_path, demo=True)
    assert demo.require_secret() == demo.require_secret()  # generated once, kept in the data directory
    assert len(demo.require_secret()) >= 32


def test_empty_values_mean_unset(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An empty RATHAUS_METRICS_TOKEN must not open /metrics to requests without a token."""
    monkeypatch.setenv("RATHAUS_METRICS_TOKEN", "")
    monkeypatch.setenv("RATHAUS_REDIS_URL", " ")
    settings = load_settings(data_dir=tmp_path)
    assert settings.metrics_token is None and settings.redis_url is None
