"""A sweep's spending cap, checked before each send with calls in flight reserved.

Checking only what has been spent lets 120 calls in flight all pass the check and then
overspend together; so every admitted call reserves an estimate until its real cost is known.
"""

from __future__ import annotations

from ._errors import BudgetExceededError


class Budget:
    """Admits calls while spent + reserved + one more estimate stays within ``max_cost``."""

    def __init__(self, max_cost: float | None, *, estimate: float = 0.05) -> None:
        self.max_cost = max_cost
        self.spent = 0.0
        self.reserved = 0.0
        self.estimate = estimate
        """USD reserved per call in flight; grows to the dearest call seen."""
        self.exhausted = False

    def admit(self) -> float:
        """Reserve room for one call, returning the amount; raise if it may not go."""
        if self.max_cost is None:
            return 0.0
        if self.exhausted or self.spent + self.reserved + self.estimate > self.max_cost:
            # Once closed, stay closed: later cheap calls must not slip past earlier ones.
            self.exhausted = True
            raise BudgetExceededError(
                f"max_cost ${self.max_cost:.4f} reached: ${self.spent:.4f} spent, "
                f"${self.reserved:.4f} reserved for calls in flight; not sent"
            )
        self.reserved += self.estimate
        return self.estimate

    def settle(self, reserved: float, cost: float) -> None:
        """Replace a call's reservation by what it really cost."""
        self.reserved -= reserved
        self.spent += cost
        if cost > self.estimate:
            self.estimate = cost
