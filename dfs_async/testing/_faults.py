"""Which fault, if any, strikes a call: the configured chooser, a prompt marker, or chance.

Chance is drawn from the call's own random stream (seed, key, attempt), so the same requests
meet the same faults however the client orders or overlaps them.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Final

from .._platforms import Platform
from .._wire._requests import LiveRequest
from ._config import CallInfo, EmulatorConfig, Fault

_MARKER: Final = re.compile(r"\[\[fault:([A-Za-z0-9_]+)\]\]")


def marker_fault(prompt: str) -> Fault | None:
    """The fault a ``[[fault:NAME]]`` marker in a prompt asks for (name or value, any case)."""
    if "[[fault:" not in prompt:  # the common case costs one substring search
        return None
    match = _MARKER.search(prompt)
    if match is None:
        return None
    name = match[1].lower()
    try:
        return Fault(name)
    except ValueError:
        return None


def choose_fault(
    config: EmulatorConfig,
    platform: Platform | None,
    path: str,
    request: LiveRequest | None,
    key: str,
    attempt: int,
    rng: Callable[[], random.Random],
) -> Fault | None:
    """The fault for this call, or None."""
    # Precedence: config.faults, then a prompt marker (first attempt only), then fault_rate
    # (Live tasks that decoded only: the setup calls a client makes once are left alone).
    if config.faults is not None:
        fault = config.faults(CallInfo(platform, path, request, key, attempt))
        if fault is not None:
            return Fault(fault)
    if request is None:
        return None
    if attempt == 1:
        fault = marker_fault(request.user_prompt)
        if fault is not None:
            return fault
    if config.fault_rate and (attempt == 1 or not config.fault_first_attempt_only):
        draw = rng()
        if draw.random() < config.fault_rate:
            return draw.choice(config.fault_kinds)
    return None
