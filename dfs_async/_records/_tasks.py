"""Standard tasks a results file says were posted and not yet collected, and what they prepaid."""

from __future__ import annotations


class PostedTasks:
    """Keys posted as Standard tasks and not collected: their task ids and prepayments.

    A task_post charges the task's base price at once; that prepayment counts as spent until
    the task's result (whose record carries the whole charge) replaces it.
    """

    __slots__ = ("_prepaid", "ids")

    def __init__(self) -> None:
        self.ids: dict[str, str | None] = {}
        """Task id per key, or None when the task_post answer never arrived (resolved through
        tasks_ready tags)."""
        self._prepaid: dict[str, float] = {}

    def post(self, key: str, task_id: str | None, cost: float) -> float:
        """Note a "posted" record; returns the USD it adds to what the file spent."""
        # An id, once known, is never forgotten by a later "posting" line.
        self.ids[key] = task_id or self.ids.get(key)
        if not cost:
            return 0.0  # a line written before the task_post answer: no charge known yet
        added = cost - self._prepaid.get(key, 0.0)
        self._prepaid[key] = cost
        return added

    def collect(self, key: str) -> float:
        """Note the key's result; returns the prepayment its record's cost now includes."""
        self.ids.pop(key, None)
        return self._prepaid.pop(key, 0.0)

    def __len__(self) -> int:
        return len(self.ids)
