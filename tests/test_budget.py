"""The proxy's byte budget (proxy/budget.py): uploads past it wait, then are turned away; never more held."""

from __future__ import annotations

import asyncio

import pytest

from proxy.budget import PER_REQUEST_OVERHEAD, ByteBudget, OverBudget

MIB = 2**20


def test_uploads_within_the_budget_are_held_together_and_released():
    async def main() -> tuple[int, int]:
        budget = ByteBudget(3 * (MIB + PER_REQUEST_OVERHEAD), wait=0.0)
        charges = [await budget.acquire(MIB) for _ in range(3)]
        held = budget.held
        for charge in charges:
            budget.release(charge)
        return held, budget.held

    assert asyncio.run(main()) == (3 * (MIB + PER_REQUEST_OVERHEAD), 0)


def test_past_the_budget_an_upload_waits_for_room_and_gets_it():
    async def main() -> list[str]:
        budget, events = ByteBudget(2 * MIB, wait=1.0), []

        async def upload(name: str, seconds: float) -> None:
            charge = await budget.acquire(MIB)
            events.append(f"{name} in")
            assert budget.held <= budget.limit
            await asyncio.sleep(seconds)
            budget.release(charge)
            events.append(f"{name} out")

        await asyncio.gather(upload("a", 0.05), upload("b", 0.0), upload("c", 0.0))
        return events

    assert asyncio.run(main()) == ["a in", "a out", "b in", "b out", "c in", "c out"]


def test_past_the_budget_and_the_wait_an_upload_is_turned_away_and_nothing_is_held():
    async def main() -> int:
        budget = ByteBudget(2 * MIB, wait=0.05)
        charge = await budget.acquire(MIB)
        with pytest.raises(OverBudget):
            await budget.acquire(MIB)
        budget.release(charge)
        return budget.held

    assert asyncio.run(main()) == 0


def test_a_cancelled_wait_holds_nothing_and_others_still_get_room():
    async def main() -> int:
        budget = ByteBudget(2 * MIB, wait=1.0)
        first = await budget.acquire(MIB)
        gone = asyncio.ensure_future(budget.acquire(MIB))  # a client that disconnects while waiting
        await asyncio.sleep(0.01)
        gone.cancel()
        await asyncio.gather(gone, return_exceptions=True)
        budget.release(first)
        budget.release(await budget.acquire(MIB))
        return budget.held

    assert asyncio.run(main()) == 0


def test_take_holds_only_what_fits_now():
    budget = ByteBudget(2 * MIB, wait=1.0)
    charge = budget.take(MIB)
    assert charge == MIB + PER_REQUEST_OVERHEAD and budget.take(MIB) == 0 and budget.held == charge
    budget.release(charge)
    assert budget.held == 0
