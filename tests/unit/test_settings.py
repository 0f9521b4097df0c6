"""Settings: names match local.settings.sample.json, bad values fail naming the setting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts.settings_doc import main as settings_doc_main
from scripts.settings_doc import render
from shared.settings import ROOT, Settings, SettingsError, load_settings
from simulator.settings import SimulatorSettings

SAMPLE = json.loads((ROOT / "local.settings.sample.json").read_text())["Values"]
# Keys the Functions host itself reads; not gateway settings.
HOST_KEYS = {
    "FUNCTIONS_WORKER_RUNTIME",
    "AzureWebJobsStorage",
    "PYTHON_ENABLE_INIT_INDEXING",
    "ServiceBusConnection__fullyQualifiedNamespace",
}


def test_sample_keys_are_exactly_the_settings_fields() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    simulator = {f"SIMULATOR_{name.upper()}" for name in SimulatorSettings.model_fields}
    assert set(SAMPLE) - HOST_KEYS == fields | simulator


def test_sample_values_load(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in SAMPLE.items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    assert [(d.region, d.model) for d in settings.aoai_deployments] == [
        ("eastus", "gpt-4o-mini"),
        ("swedencentral", "gpt-4o-mini"),
        ("westus3", "gpt-4o-mini"),
        ("eastus", "text-embedding-3-small"),
        ("swedencentral", "text-embedding-3-small"),
    ]
    assert settings.business_unit_ids == {"marketing", "legal", "finance"}
    assert not settings.uses_cosmos and not settings.uses_servicebus


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("GATEWAY_MAX_BODY_BYTES", "-1", "GATEWAY_MAX_BODY_BYTES"),
        ("AOAI_DEPLOYMENTS", '[{"name": "x"}]', "AOAI_DEPLOYMENTS"),
        ("AOAI_DEPLOYMENTS", "not json", "AOAI_DEPLOYMENTS"),
        ("GATEWAY_CALLER_AUTH", "jwt", "AUTH_ISSUER"),
        ("GATEWAY_BUDGETS", "{oops", "GATEWAY_BUDGETS"),
    ],
)
def test_bad_value_fails_at_start_naming_it(
    monkeypatch: pytest.MonkeyPatch, key: str, value: str, named: str
) -> None:
    monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError, match=named):
        load_settings()


def test_deployment_naming_an_unknown_model_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    deployment = {
        "name": "d1",
        "endpoint": "https://x.openai.azure.com",
        "model": "gpt-9",
        "region": "eastus",
        "tpm": 1000,
    }
    monkeypatch.setenv("AOAI_DEPLOYMENTS", json.dumps([deployment]))
    with pytest.raises(SettingsError, match="gpt-9"):
        load_settings()


def test_rpm_defaults_to_azure_ratio() -> None:
    assert Settings().aoai_deployments[0].effective_rpm == 60_000 * 6 // 1000


def test_settings_doc_is_current() -> None:
    assert (ROOT / "docs" / "settings.md").read_text() == render(), (
        "docs/settings.md is stale: run python -m scripts.settings_doc"
    )


def test_settings_doc_help_prints_usage_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as done:
        settings_doc_main(["--help"])
    assert done.value.code == 0
    assert "usage: python -m scripts.settings_doc" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []

    target = tmp_path / "settings.md"
    assert settings_doc_main([str(target)]) == 0
    assert target.read_text(encoding="utf-8") == render()
