"""The Cosmos DB containers infra/ creates are the ones the adapters define: same ids, partition
key paths and kind, TTL and indexing policy (shared/adapters/cosmos_containers.py)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.adapters.cosmos_containers import CONTAINERS, ContainerSpec
from shared.settings import Settings
from tests.infra import bicep


def deployed() -> dict[str, dict[str, Any]]:
    containers = bicep.literal(bicep.module("cosmos")["variables"]["containers"]["value"])
    return {c["id"]: c for c in containers}


def test_the_same_containers() -> None:
    assert set(deployed()) == {spec.name for spec in CONTAINERS}


@pytest.mark.parametrize("spec", CONTAINERS, ids=lambda s: s.name)
def test_each_container_matches_its_spec(spec: ContainerSpec) -> None:
    container = deployed()[spec.name]
    key = container["partitionKey"]
    assert key["paths"] == list(spec.partition_key)
    assert key["kind"] == ("Hash" if len(spec.partition_key) == 1 else "MultiHash")
    assert key["version"] == 2
    # None: TTL off (no defaultTtl at all); -1: on, items expire by their own ttl.
    assert container.get("defaultTtl") == spec.default_ttl
    assert container["indexingPolicy"] == spec.indexing_policy
    # The semantic cache's vector policy (None elsewhere): dimensions, distance, path.
    assert container.get("vectorEmbeddingPolicy") == spec.vector_embedding_policy


def test_the_container_resource_creates_exactly_these_definitions() -> None:
    loop = bicep.resource(bicep.module("cosmos"), "container")
    assert loop["loop_type"]["detail"]["array_name"] == "containers"
    assert loop["config"]["properties"]["resource"] == loop["loop_type"]["detail"]["item_name"]


def test_the_database_is_the_one_the_app_opens() -> None:
    assert bicep.main()["variables"]["cosmosDatabase"]["value"] == Settings().cosmos_database
    assert bicep.module_params("functionApp")["cosmosDatabase"] is not None


def test_keys_are_off_and_the_app_gets_the_data_contributor_role() -> None:
    cosmos = bicep.module("cosmos")
    account = bicep.resource(cosmos, "account")["properties"]
    assert account["disableLocalAuth"] is True
    role = bicep.resource(cosmos, "dataAccess")["properties"]
    assert role["principalId"] == "principalId"
    assert "sqlRoleDefinitions/${dataContributor}" in role["roleDefinitionId"]
    assert cosmos["variables"]["dataContributor"]["value"] == "00000000-0000-0000-0000-000000000002"
