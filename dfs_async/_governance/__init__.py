"""Admission control for one account: pacing, per-platform slots, and the governors that
combine them. `Governor` is the one seam; `LocalGovernor` is the in-process default;
`RedisGovernor` shares one account's limits across processes and hosts."""

from ._local import LocalGovernor
from ._protocol import Governor, GovernorState, PlatformState
from ._redis import RedisGovernor

__all__ = ["Governor", "GovernorState", "LocalGovernor", "PlatformState", "RedisGovernor"]
