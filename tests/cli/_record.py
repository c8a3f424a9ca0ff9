"""What money means at the emulator: the calls that may be charged."""

from __future__ import annotations

from dfs_async.testing import CallRecord, ServerRecord


def paid(record: ServerRecord) -> list[CallRecord]:
    """The POSTs ``record`` saw (Live tasks, task_posts): the calls DataForSEO may charge.

    The GETs are free: the Models list a sweep checks its model names against, and the
    Standard method's tasks_ready and task_get.
    """
    return [call for call in record.calls if call.method == "POST"]
