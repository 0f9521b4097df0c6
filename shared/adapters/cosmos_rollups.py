"""RollupStore on Cosmos DB: partition key = business unit, id = the rollup's own id.

Reports ask for a date range of one or a few business units: one single-partition query each
(range index on ``/day``). "Every business unit" is the one cross-partition query in the
adapters; it runs for finance reports, never on a request's hot path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from shared.adapters.cosmos_client import CosmosConnection, item_id
from shared.adapters.cosmos_containers import ROLLUPS
from shared.adapters.cosmos_faults import translated
from shared.domain.timestamps import from_iso, iso
from shared.domain.usage import DailyRollup

# Constant query texts: every value, the business unit included, goes in as a parameter.
_ALL_UNITS = "SELECT * FROM c WHERE c.day >= @first AND c.day <= @last"
_ONE_UNIT = "SELECT * FROM c WHERE c.business_unit = @bu AND c.day >= @first AND c.day <= @last"


def _sort_key(r: DailyRollup) -> tuple[str, str, str, str]:
    return (r.day, r.business_unit, r.use_case, r.model)


# One item per unit and month, in the unit's partition ("computed|YYYY-MM"), says when those
# rollups were last computed. It has no "day", so the range queries above never return it.
COMPUTED_PREFIX = "computed|"


class CosmosRollupStore:
    def __init__(self, conn: CosmosConnection) -> None:
        self._conn = conn
        self._container = conn.container(ROLLUPS)

    @translated
    async def upsert(self, rollup: DailyRollup) -> None:
        await self._container.upsert_item(rollup.to_doc() | {"id": item_id(rollup.id)})

    async def query(
        self, business_units: Sequence[str] | None, first_day: str, last_day: str
    ) -> Sequence[DailyRollup]:
        days: list[dict[str, object]] = [
            {"name": "@first", "value": first_day},
            {"name": "@last", "value": last_day},
        ]
        if business_units is None:
            found = await self._collect(_ALL_UNITS, days, None)
        else:
            per_unit = await asyncio.gather(
                *(
                    self._collect(
                        _ONE_UNIT,
                        [*days, {"name": "@bu", "value": bu}],
                        bu,
                    )
                    for bu in dict.fromkeys(business_units)
                )
            )
            found = [r for rows in per_unit for r in rows]
        return sorted(found, key=_sort_key)

    async def _collect(
        self, query: str, parameters: list[dict[str, object]], partition: str | None
    ) -> list[DailyRollup]:
        if partition is None:
            items = self._container.query_items(query, parameters=parameters)
        else:
            items = self._container.query_items(
                query, parameters=parameters, partition_key=partition
            )
        return [DailyRollup.from_doc(doc) async for doc in items]

    async def mark_computed(self, business_unit: str, month: str, at: datetime) -> None:
        # Last writer wins: a slow recompute finishing after a later one moves the mark back,
        # which only makes a report say it is older than it is (and recompute sooner).
        doc = {
            "id": item_id(COMPUTED_PREFIX + month),
            "business_unit": business_unit,
            "month": month,
            "computed_at": iso(at),
        }
        await self._container.upsert_item(doc)

    async def computed(
        self, business_units: Sequence[str], months: Sequence[str]
    ) -> dict[tuple[str, str], datetime]:
        keys = [(bu, m) for bu in dict.fromkeys(business_units) for m in dict.fromkeys(months)]
        docs = await asyncio.gather(
            *(
                self._conn.point_read(self._container, item_id(COMPUTED_PREFIX + m), bu)
                for bu, m in keys
            )
        )
        return {
            key: from_iso(doc["computed_at"]) for key, doc in zip(keys, docs, strict=True) if doc
        }
