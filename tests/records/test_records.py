"""`Target` and `PromptResult` as a script uses them: typed answers, keyword fields."""

from __future__ import annotations

import pickle

import pytest

from dfs_async import (
    Annotation,
    AsyncClient,
    LiveRequest,
    PromptResult,
    Target,
    ValidationError,
    gather_prompts,
)

from .._fakes import FIXTURES, ScriptedTransport

pytestmark = pytest.mark.anyio


def test_a_targets_fields_may_be_keywords() -> None:
    by_keyword = Target("chat_gpt", "gpt-4.1-mini", web_search=True)
    assert by_keyword == Target("chat_gpt", "gpt-4.1-mini", {"web_search": True})
    assert Target("claude", "x", {"a": 1}, b=2).fields == {"a": 1, "b": 2}
    assert Target("claude", "x").fields is None
    assert pickle.loads(pickle.dumps(by_keyword)) == by_keyword
    with pytest.raises(AttributeError):
        by_keyword.model_name = "other"  # type: ignore[misc]


def test_an_unanswered_items_answer_raises_its_error() -> None:
    error = ValidationError("user_prompt", "too long")
    failed = PromptResult(0, "claude", LiveRequest(user_prompt="x"), "k", error=error)
    with pytest.raises(ValidationError, match="too long"):
        failed.answer  # noqa: B018


async def test_an_answered_items_answer_is_typed_and_its_annotations_a_list() -> None:
    body = (FIXTURES / "chat_gpt_live_response.json").read_bytes()
    async with AsyncClient("l", "p", transport=ScriptedTransport((200, body))) as client:
        [result] = await gather_prompts(client, ["q"], platform="chat_gpt", model_name="gpt-4.1")
    answer = result.answer  # LiveResponse, not LiveResponse | None
    assert answer is result.response
    assert answer.result is not None
    cited = answer.result.annotations()
    assert isinstance(cited, list) and cited[:1] == cited[0:1]
    assert all(isinstance(a, Annotation) for a in cited) and len(cited) > 0
