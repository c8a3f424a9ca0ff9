"""Names shared by every module: the four platforms and every HTTP path built from them."""

from __future__ import annotations

from typing import Final, Literal, TypeAlias
from urllib.parse import quote

from ._errors import ValidationError

Platform: TypeAlias = Literal["chat_gpt", "claude", "gemini", "perplexity"]

PLATFORMS: Final[tuple[Platform, ...]] = ("chat_gpt", "claude", "gemini", "perplexity")
STANDARD_PLATFORMS: Final[tuple[Platform, ...]] = ("chat_gpt", "claude", "gemini")
"""Platforms with the Standard method (task_post/tasks_ready/task_get); Perplexity has only Live
and Models."""

DEFAULT_BASE_URL: Final = "https://api.dataforseo.com"
USER_DATA_PATH: Final = "/v3/appendix/user_data"


def live_path(platform: Platform) -> str:
    """Path of the Live endpoint of ``platform``."""
    return f"/v3/ai_optimization/{platform}/llm_responses/live"


def models_path(platform: Platform) -> str:
    """Path of the Models endpoint of ``platform``."""
    return f"/v3/ai_optimization/{platform}/llm_responses/models"


def task_post_path(platform: Platform) -> str:
    """Path of the task_post endpoint of ``platform``."""
    return f"/v3/ai_optimization/{platform}/llm_responses/task_post"


def tasks_ready_path(platform: Platform) -> str:
    """Path of the tasks_ready endpoint of ``platform``."""
    return f"/v3/ai_optimization/{platform}/llm_responses/tasks_ready"


def task_get_path(platform: Platform, task_id: str) -> str:
    """Path of the task_get endpoint for one task id (quoted: ids are opaque strings)."""
    return f"/v3/ai_optimization/{platform}/llm_responses/task_get/{quote(task_id, safe='')}"


def check_platform(platform: str) -> Platform:
    """Return ``platform`` typed as a `Platform`, or raise `ValueError` naming the valid ones."""
    if platform not in PLATFORMS:
        raise ValidationError(
            "platform", f"unknown platform {platform!r}; expected one of {', '.join(PLATFORMS)}"
        )
    return platform


def check_standard(platform: str) -> Platform:
    """``platform`` typed, or a `ValidationError` if it has no Standard method."""
    checked = check_platform(platform)
    if checked not in STANDARD_PLATFORMS:
        raise ValidationError(
            "platform",
            f"{checked} has no Standard method (task_post/task_get); use Live for it, "
            f"or one of {', '.join(STANDARD_PLATFORMS)}",
        )
    return checked
