"""The emulator's model list per platform: names, versions, capabilities and token prices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .._platforms import Platform
from .._wire._models import ModelInfo

_M: Final = 1e-6  # prices below are USD per million tokens, as the vendors publish them


@dataclass(frozen=True, slots=True)
class CatalogModel:
    """One model: the name the Models endpoint lists and the versioned name results carry."""

    name: str
    version: str
    web_search: bool
    task_post: bool
    reasoning: bool
    price_in: float
    """USD per input token."""
    price_out: float
    """USD per output (and reasoning) token."""

    @property
    def info(self) -> ModelInfo:
        """This model as the Models endpoint describes it."""
        return _INFO[self.version]

    def as_dict(self) -> dict[str, object]:
        """This model as one item of the Models endpoint's result."""
        return {
            "model_name": self.name,
            "web_search_supported": self.web_search,
            "task_post_supported": self.task_post,
            "reasoning": self.reasoning,
        }


def _m(
    name: str,
    version: str,
    price_in: float,
    price_out: float,
    *,
    web: bool = True,
    task_post: bool = True,
    reasoning: bool = False,
) -> CatalogModel:
    return CatalogModel(name, version, web, task_post, reasoning, price_in * _M, price_out * _M)


# Names and versions follow the vendors' public model lists; a base name resolves to its
# latest version (gpt-4.1 -> gpt-4.1-2025-04-14, gemini-1.5-pro -> ...-002; the model_name
# field of each platform's Live page, e.g. https://docs.dataforseo.com/v3/ai_optimization/chat_gpt/llm_responses/live/).
MODELS: Final[dict[Platform, tuple[CatalogModel, ...]]] = {
    "chat_gpt": (
        _m("gpt-4.1-mini", "gpt-4.1-mini-2025-04-14", 0.4, 1.6),
        _m("gpt-4.1", "gpt-4.1-2025-04-14", 2.0, 8.0),
        _m("gpt-4.1-nano", "gpt-4.1-nano-2025-04-14", 0.1, 0.4),
        _m("gpt-4o", "gpt-4o-2024-08-06", 2.5, 10.0),
        _m("gpt-4o-mini", "gpt-4o-mini-2024-07-18", 0.15, 0.6),
        _m("o3-mini", "o3-mini-2025-01-31", 1.1, 4.4, web=False, reasoning=True),
        _m("o4-mini", "o4-mini-2025-04-16", 1.1, 4.4, reasoning=True),
        _m("o3", "o3-2025-04-16", 2.0, 8.0, reasoning=True),
        _m("gpt-5", "gpt-5-2025-08-07", 1.25, 10.0, reasoning=True),
        _m("gpt-5-mini", "gpt-5-mini-2025-08-07", 0.25, 2.0, reasoning=True),
    ),
    "claude": (
        _m("claude-opus-4-1", "claude-opus-4-1-20250805", 15.0, 75.0, reasoning=True),
        _m("claude-opus-4-0", "claude-opus-4-20250514", 15.0, 75.0, reasoning=True),
        _m("claude-sonnet-4-0", "claude-sonnet-4-20250514", 3.0, 15.0, reasoning=True),
        _m("claude-3-7-sonnet-latest", "claude-3-7-sonnet-20250219", 3.0, 15.0, reasoning=True),
        _m("claude-3-5-haiku-latest", "claude-3-5-haiku-20241022", 0.8, 4.0),
    ),
    "gemini": (
        _m("gemini-2.5-pro", "gemini-2.5-pro", 1.25, 10.0, reasoning=True),
        _m("gemini-2.5-flash", "gemini-2.5-flash", 0.3, 2.5, reasoning=True),
        _m("gemini-2.5-flash-lite", "gemini-2.5-flash-lite", 0.1, 0.4, reasoning=True),
        _m("gemini-2.0-flash", "gemini-2.0-flash-001", 0.1, 0.4),
        _m("gemini-1.5-pro", "gemini-1.5-pro-002", 1.25, 5.0),
    ),
    "perplexity": (
        _m("sonar", "sonar", 1.0, 1.0, task_post=False),
        _m("sonar-pro", "sonar-pro", 3.0, 15.0, task_post=False),
        _m("sonar-reasoning", "sonar-reasoning", 1.0, 5.0, task_post=False, reasoning=True),
        _m("sonar-reasoning-pro", "sonar-reasoning-pro", 2.0, 8.0, task_post=False, reasoning=True),
    ),
}

# The vendors' per-call search fees (OpenAI $25, Anthropic $10, Google $35, Perplexity $5 per
# thousand); with gpt-4.1-mini's token prices they reproduce the fixture's money_spent exactly.
WEB_SEARCH_FEE: Final[dict[Platform, float]] = {
    "chat_gpt": 0.025,
    "claude": 0.01,
    "gemini": 0.035,
    "perplexity": 0.005,
}

BASE_PRICE: Final = 0.0006
"""DataForSEO's own price per Live task, on top of the vendor's money_spent (the fixture's)."""

# Built once: validation gets a ModelInfo on every Live call.
_INFO: Final[dict[str, ModelInfo]] = {
    m.version: ModelInfo(
        model_name=m.name,
        web_search_supported=m.web_search,
        task_post_supported=m.task_post,
        reasoning=m.reasoning,
    )
    for models in MODELS.values()
    for m in models
}

_LOOKUP: Final[dict[Platform, dict[str, CatalogModel]]] = {
    platform: {
        **{m.version: m for m in models},
        **{m.name: m for m in models},  # base names win where a version equals its name
    }
    for platform, models in MODELS.items()
}


def find_model(platform: Platform, name: str | None) -> CatalogModel | None:
    """The model ``name`` (base or versioned) of ``platform``, or None if it has no such model."""
    if name is None:
        return None
    return _LOOKUP[platform].get(name)


def auto_reasoning(platform: Platform, model: CatalogModel, use_reasoning: bool | None) -> bool:
    """Whether an answer to ``model`` carries a reasoning item."""
    # chat_gpt reasoning models always reason; claude and gemini when asked, gemini Pro models
    # always (the use_reasoning field of their Live pages); Perplexity's items are typed as
    # messages only.
    if platform == "chat_gpt":
        return model.reasoning
    if platform == "gemini" and model.reasoning and "-pro" in model.name:
        return True
    if platform in ("claude", "gemini"):
        return model.reasoning and use_reasoning is True
    return False
