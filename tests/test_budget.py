"""The proxy's byte budget (proxy/budget.py): uploads past it wait, then are turned away; never more held."""

from __future__ import annotations

import asyncio

import pytest

from proxy.budget import PER_REQUEST_OVERHEAD, ByteBudget, OverBudget

MIB = 2**20


def test_uploads_within_the_budget_are_held_together_and_released():
    async def main() -> tuple[int, int]:
        budget = ByteBudget(3 * (MIB + PER_REQUEST_OVERHEAD), wait=0.0)
        async with budget.hold(MIB), budget.hold(MIB), budget.hold(MIB):
            held = budget.held
        return held, budget.held

    assert asyncio.run(main()) == (3 * (MIB + PER_REQUEST_OVERHEAD), 0)


def test_past_the_budget_an_upload_waits_for_room_and_gets_it():
    async def main() -> list[str]:
        budget, events = ByteBudget(2 * MIB, wait=1.0), []

        async def upload(name: str, seconds: float) -> None:
            async with budget.hold(MIB):
                events.append(f"{name} in")
                assert budget.held <= budget.limit
                await asyncio.sleep(seconds)
            events.append(f"{name} out")

        await asyncio.gather(upload("a", 0.05), upload("b", 0.0))
        return events

    assert asyncio.run(main()) == ["a in", "a out", "b in", "b out"]


def test_past_the_budget_and_the_wait_an_upload_is_turned_away_and_nothing_is_held():
    async def main() -> int:
        budget = ByteBudget(2 * MIB, wait=0.05)
        async with budget.hold(MIB):
            with pytest.raises(OverBudget):
                async with budget.hold(MIB):
                    pass
        return budget.held

    assert asyncio.run(main()) == 0


def test_a_cancelled_upload_gives_its_bytes_back():
    async def main() -> int:
        budget = ByteBudget(4 * MIB, wait=1.0)

        async def held_forever() -> None:
            async with budget.hold(MIB):
                await asyncio.sleep(60)

        task = asyncio.ensure_future(held_forever())
        await asyncio.sleep(0.01)
        task.cancel()  # a client that disconnects
        await asyncio.gather(task, return_exceptions=True)
        return budget.held

    assert asyncio.run(main()) == 0
