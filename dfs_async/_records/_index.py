"""The resume index: what a results file holds by key, what it spent, and its costs per target.

Built from the file when a sink opens, then kept in step with every record the sink writes,
so a second sweep on the same open sink sees what the first one answered and spent.
"""

from __future__ import annotations

import os

import msgspec

from .._errors import ResultsFileError
from .._platforms import PLATFORMS
from ._costs import CostsSeen
from ._keyset import KeySet
from ._records import RecordHead
from ._scan import Scan, open_for_reading, scan_fd
from ._tasks import PostedTasks


class ResultsIndex:
    """Keys answered (`done`), failed (`failed`) and, among those, `settled` (a re-run leaves
    them alone unless asked); USD `spent`; answers' `costs` per target; Standard tasks `posted`.
    """

    def __init__(self) -> None:
        # Digests, 8 bytes a key: a million-record file resumes in a few MB (see KeySet).
        self.done = KeySet()
        self.failed = KeySet()
        self.settled = KeySet()
        self.spent = 0.0
        """USD the file's records cost, charges of unknown amount counted at their estimate,
        Standard tasks not collected at their prepayment."""
        self.costs = CostsSeen()
        """Costs of the file's answers per target, for the estimates of the calls left."""
        self.tasks = PostedTasks()
        self.unreadable_lines = 0
        """Lines of the file, as read, that are not records (skipped, kept in the file)."""
        self.first_unreadable_line: int | None = None
        """1-based number of the first of those lines."""

    @property
    def posted(self) -> dict[str, str | None]:
        """Keys posted as Standard tasks and not collected: task id, or None when the
        task_post answer never arrived (resolved through tasks_ready tags)."""
        return self.tasks.ids

    def note(self, rec: RecordHead) -> None:
        """Follow one record, read from the file or just written to it."""
        key = rec.key
        if rec.posted:
            if key not in self.done:
                self.spent += self.tasks.post(key, rec.task_id, rec.cost)
                self.failed.discard(key)
                self.settled.discard(key)
            return
        prepaid = self.tasks.collect(key)
        if rec.ok:
            self.done.add(key)
            self.failed.discard(key)
            self.settled.discard(key)
        elif key not in self.done:
            self.failed.add(key)
            if rec.error is not None and rec.error.settled:
                self.settled.add(key)
            else:
                self.settled.discard(key)
        # The result's cost includes the task's prepayment, already counted when posted.
        self.spent += rec.cost + (rec.cost_estimate or 0.0) - prepaid
        platform = rec.platform
        if rec.cost > 0 and platform in PLATFORMS:
            self.costs.add((platform, rec.model_name, rec.web_search), rec.cost)

    def load(self, fd: int) -> Scan:
        """Read every record of an open results file, from its current offset."""
        scan = scan_fd(fd, msgspec.json.Decoder(RecordHead), self.note)
        self.unreadable_lines = scan.unreadable
        self.first_unreadable_line = scan.first_unreadable
        return scan


def read_index(path: str | os.PathLike[str]) -> ResultsIndex:
    """The index of a results file, read without locking or changing it (a missing file reads
    as empty); for a preview of a sweep. `ResultsFileError` if it is not a results file."""
    index = ResultsIndex()
    try:
        fd = open_for_reading(path)
    except FileNotFoundError:
        return index
    try:
        scan = index.load(fd)
    finally:
        os.close(fd)
    if scan.records == 0 and scan.unreadable:
        raise ResultsFileError(path, "exists and is not a results file")
    return index
