"""Configuration: validation, from the gateway's settings, and from the command line."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.settings import Settings
from simulator.__main__ import _parser, build_config
from simulator.config import SimDeployment, SimulatorConfig
from simulator.settings import SimulatorSettings


def test_from_settings_mirrors_the_gateways_deployments() -> None:
    settings = Settings()
    knobs = SimulatorSettings(latency_ms=5, fault_rate=0.1, time_scale=30)

    config = SimulatorConfig.from_settings(settings, knobs)

    assert [d.name for d in config.deployments] == [d.name for d in settings.aoai_deployments]
    assert [d.tpm for d in config.deployments] == [d.tpm for d in settings.aoai_deployments]
    first, source = config.deployments[0], settings.aoai_deployments[0]
    assert first.effective_rpm == source.effective_rpm
    assert first.encoding == settings.aoai_models[source.model].encoding
    assert (first.latency_ms, first.fault_rate, config.time_scale) == (5, 0.1, 30)


def test_command_line_deployments_replace_the_settings_ones() -> None:
    args = _parser().parse_args(
        [
            "--deployment",
            "a:gpt-35-turbo:2000",
            "--deployment",
            "b:custom:9000",
            "--latency-ms",
            "7",
        ]
    )

    config = build_config(args, Settings(), SimulatorSettings())

    assert [(d.name, d.model, d.tpm, d.encoding) for d in config.deployments] == [
        ("a", "gpt-35-turbo", 2000, "cl100k_base"),
        ("b", "custom", 9000, "o200k_base"),
    ]
    assert {d.latency_ms for d in config.deployments} == {7}


def test_rpm_defaults_to_six_per_thousand_tpm() -> None:
    assert SimDeployment(name="d", model="m", tpm=30_000).effective_rpm == 180
    assert SimDeployment(name="d", model="m", tpm=100).effective_rpm == 1


def test_bad_values_fail_with_the_field_named() -> None:
    with pytest.raises(ValidationError, match="fault_rate"):
        SimDeployment(name="d", model="m", tpm=1, fault_rate=0.7, timeout_rate=0.5)
    with pytest.raises(ValidationError, match="unique"):
        SimulatorConfig(deployments=(SimDeployment(name="d", model="m", tpm=1),) * 2)
    with pytest.raises(ValueError, match="cannot change"):
        SimDeployment(name="d", model="m", tpm=1).updated({"name": "x"})
