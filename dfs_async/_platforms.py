"""Names shared by every module: the four platforms and the HTTP paths built from them."""

from __future__ import annotations

from typing import Final, Literal, TypeAlias

from ._errors import ValidationError

Platform: TypeAlias = Literal["chat_gpt", "claude", "gemini", "perplexity"]

PLATFORMS: Final[tuple[Platform, ...]] = ("chat_gpt", "claude", "gemini", "perplexity")

DEFAULT_BASE_URL: Final = "https://api.dataforseo.com"
USER_DATA_PATH: Final = "/v3/appendix/user_data"


def live_path(platform: Platform) -> str:
    """Path of the Live endpoint of ``platform``."""
    return f"/v3/ai_optimization/{platform}/llm_responses/live"


def models_path(platform: Platform) -> str:
    """Path of the Models endpoint of ``platform``."""
    return f"/v3/ai_optimization/{platform}/llm_responses/models"


def check_platform(platform: str) -> Platform:
    """Return ``platform`` typed as a `Platform`, or raise `ValueError` naming the valid ones."""
    if platform not in PLATFORMS:
        raise ValidationError(
            "platform", f"unknown platform {platform!r}; expected one of {', '.join(PLATFORMS)}"
        )
    return platform
