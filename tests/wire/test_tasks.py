"""task_post and tasks_ready answers decode into their Structs; task_get into `LiveResponse`."""

from __future__ import annotations

import msgspec

from dfs_async import (
    InvalidRequestError,
    LiveResponse,
    PostedTask,
    ReadyTask,
    TaskPostResponse,
    TasksReadyResponse,
)
from tests._fakes import FIXTURES

# Synthetic answers built from the documented fields
# (https://docs.dataforseo.com/v3/ai_optimization/chat_gpt/llm_responses/task_post/,
# https://docs.dataforseo.com/v3/ai_optimization/chat_gpt/llm_responses/tasks_ready/): DataForSEO's
# own examples of these endpoints could not be obtained whole (fixtures/SOURCES.md).
TASK_POST = b"""{
  "version": "0.1.20250724", "status_code": 20000, "status_message": "Ok.",
  "time": "0.0701 sec.", "cost": 0.0102, "tasks_count": 2, "tasks_error": 1,
  "tasks": [
    {"id": "11281721-1535-0612-0000-4a2b1e1e0a11", "status_code": 20100,
     "status_message": "Task Created.", "time": "0.0032 sec.", "cost": 0.0102,
     "result_count": 0, "path": ["v3", "ai_optimization", "claude", "llm_responses", "task_post"],
     "data": {"api": "ai_optimization", "function": "task_post", "se": "claude",
              "user_prompt": "best crm", "model_name": "claude-sonnet-4-0", "tag": "item-1"},
     "result": null, "new_key": 1},
    {"id": "11281721-1535-0612-0000-4a2b1e1e0a12", "status_code": 40006,
     "status_message": "You can set no more than 100 tasks at a time.", "time": "0 sec.",
     "cost": 0, "result_count": 0, "path": [], "data": {"tag": "item-2"}, "result": null}
  ]
}"""

TASKS_READY = b"""{
  "version": "0.1.20250724", "status_code": 20000, "status_message": "Ok.", "time": "0.1 sec.",
  "cost": 0, "tasks_count": 1, "tasks_error": 0,
  "tasks": [{"id": "t", "status_code": 20000, "status_message": "Ok.", "cost": 0,
    "result_count": 2, "path": [], "data": {"api": "ai_optimization"},
    "result": [
      {"id": "a1", "se": "claude", "se_type": null, "date_posted": "2026-11-28 17:21:03 +00:00",
       "tag": "item-1", "endpoint": "/v3/ai_optimization/claude/llm_responses/task_get/a1"},
      {"id": "a2", "tag": null, "unknown": [1, 2]}
    ]}]
}"""


def test_task_post_answer_gives_ids_by_tag_and_typed_refusals() -> None:
    response = msgspec.json.decode(TASK_POST, type=TaskPostResponse)
    created, refused = response.tasks
    assert isinstance(created, PostedTask)
    assert (created.ok, created.tag, created.error) == (True, "item-1", None)
    assert response.ids_by_tag == {"item-1": "11281721-1535-0612-0000-4a2b1e1e0a11"}
    assert not refused.ok and refused.tag == "item-2"
    error = refused.error
    assert isinstance(error, InvalidRequestError)
    assert (error.status_code, error.task_id) == (40006, "11281721-1535-0612-0000-4a2b1e1e0a12")
    assert response.cost == 0.0102 and response.tasks_error == 1


def test_tasks_ready_answer_lists_every_ready_task_and_tolerates_nulls() -> None:
    response = msgspec.json.decode(TASKS_READY, type=TasksReadyResponse)
    assert response.ready == [
        ReadyTask(
            id="a1",
            se="claude",
            se_type=None,
            date_posted="2026-11-28 17:21:03 +00:00",
            tag="item-1",
            endpoint="/v3/ai_optimization/claude/llm_responses/task_get/a1",
        ),
        ReadyTask(id="a2"),
    ]


def test_documented_task_get_prefix_is_a_live_envelope() -> None:
    # DataForSEO's task_get example (cut off in the stored copy) opens exactly like a Live
    # answer; the part we have, closed off, decodes as one.
    for name, task_id in (
        ("chat_gpt_task_get_response_TRUNCATED.txt", "02249714-1807-0791-0000-0423e705a8rr"),
        ("claude_task_get_response_TRUNCATED.txt", "07241735-1535-0613-0000-0722e701b5ff"),
    ):
        text = (FIXTURES / name).read_text()
        body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
        head = body[: body.index('"path"')].rstrip().rstrip(",") + "}]}"
        response = msgspec.json.decode(head, type=LiveResponse)
        assert (response.status_code, response.cost, response.tasks_count) == (20000, 0, 1)
        assert response.tasks[0].id == task_id and response.tasks[0].status_code == 20000
