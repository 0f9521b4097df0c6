"""The Flex Consumption sizing infra/ deploys is the one docs/sizing.md measured and chose."""

from __future__ import annotations

import re

from tests.infra import bicep

SIZING = bicep.ROOT / "docs" / "sizing.md"
# docs/sizing.md's table names the field as Flex does; main.bicep's parameter names it shorter.
FIELDS = {
    "instanceMemoryMB": "instanceMemoryMB",
    "triggers.http.perInstanceConcurrency": "perInstanceConcurrency",
    "maximumInstanceCount": "maximumInstanceCount",
}


def chosen() -> dict[str, int]:
    text = SIZING.read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([A-Za-z.]+)` \| \*\*(\d+)\*\* \|", text, flags=re.MULTILINE)
    return {name: int(value) for name, value in rows}


def test_the_deployed_defaults_are_the_measured_choice() -> None:
    table = chosen()
    assert set(table) == set(FIELDS)
    main = bicep.main()
    for field, param in FIELDS.items():
        assert bicep.param_default(main, param) == table[field], field


def test_the_function_app_uses_the_three_parameters() -> None:
    scale = bicep.resource(bicep.module("functionapp"), "site")["properties"]["functionAppConfig"]
    concurrency = scale["scaleAndConcurrency"]
    assert concurrency["instanceMemoryMB"] == "instanceMemoryMB"
    assert concurrency["maximumInstanceCount"] == "maximumInstanceCount"
    assert concurrency["triggers"]["http"]["perInstanceConcurrency"] == "perInstanceConcurrency"
    assert scale["runtime"] == {"name": "python", "version": "3.11"}
    for param in FIELDS.values():
        assert bicep.module_params("functionApp")[param] == param
