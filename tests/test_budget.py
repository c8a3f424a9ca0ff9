"""The budget: reservations for calls in flight, settling, and staying closed."""

from __future__ import annotations

import pytest

from dfs_async import BudgetExceededError
from dfs_async._budget import Budget


def test_no_cap_admits_everything() -> None:
    budget = Budget(None)
    assert budget.admit() == 0.0


def test_calls_in_flight_are_reserved_before_any_cost_is_known() -> None:
    budget = Budget(0.1, estimate=0.03)
    reservations = [budget.admit() for _ in range(3)]
    with pytest.raises(BudgetExceededError, match="reserved"):
        budget.admit()  # 0.09 reserved + 0.03 would pass 0.1
    for held in reservations:
        budget.settle(held, 0.01)
    assert budget.spent == pytest.approx(0.03)
    assert budget.exhausted  # once refused, later items are refused too


def test_the_estimate_grows_to_the_dearest_call_seen() -> None:
    budget = Budget(1.0, estimate=0.01)
    budget.settle(budget.admit(), 0.2)
    assert budget.estimate == 0.2
