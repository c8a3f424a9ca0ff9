"""Quick start: one Live call with web search, then a platform's model list.

Runs against the real API when DATAFORSEO_LOGIN and DATAFORSEO_PASSWORD are set (one call costs
about a cent); otherwise it starts the embedded emulator in-process and says so.

    python examples/quickstart.py
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import AsyncExitStack

from _connect import open_client


async def run() -> None:
    """The README snippet."""
    async with AsyncExitStack() as stack:
        client = await open_client(stack)

        resp = await client.live(
            "chat_gpt",
            user_prompt="Which CRM do small agencies use?",
            model_name="gpt-4.1-mini",
            web_search=True,
        )
        result = resp.result
        assert result is not None  # a failed task raises instead
        print(result.text)  # the answer
        sources = list(result.annotations())  # what it cited
        print("\nsources:" if sources else "\nno sources cited this time")
        for source in sources:
            print(f"  {source.title} <{source.source_url}>")
        print(f"\n{result.model_name}: {result.input_tokens} tokens in, ", end="")
        print(f"{result.output_tokens} out, ${resp.cost:.4f}")

        models = await client.models("claude")
        print("\nclaude models:", ", ".join(m.model_name for m in models))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the quick start."""
    asyncio.run(run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
