"""``dfs-async sweep`` targets: ``--platform``/``--model`` pairs, in the order given."""

from __future__ import annotations

import argparse
from typing import Final, cast

from .._platforms import Platform
from .._records._records import Target
from ._inputs import UsageError

NO_WEB_SEARCH_FIELD: Final[frozenset[Platform]] = frozenset({"perplexity"})
"""Platforms that reject the ``web_search`` field (Perplexity always searches)."""


def targets(args: argparse.Namespace) -> list[Target]:
    """Pair ``--platform`` and ``--model`` into targets, or raise `UsageError`."""
    order: list[tuple[str, str]] = getattr(args, "order", None) or []
    platforms = [value for kind, value in order if kind == "platform"]
    models = [value for kind, value in order if kind == "model"]
    if not platforms:
        if len(models) > 1:
            raise UsageError("several --model need a --platform each")
        if args.web_search:
            raise UsageError(
                "--web-search needs --platform; without it, set web_search in each JSONL request"
            )
        return []
    if not models:
        raise UsageError(
            "give a --model for each --platform (e.g. --platform claude --model claude-sonnet-4-0)"
        )
    pairs = _grouped(order)
    if pairs is None:
        kinds = [kind for kind, _ in order]
        # Not grouped: only "all platforms, then one model each" (or the reverse) pairs by
        # position; anything else (--platform a --model x --model y --platform b) is ambiguous.
        unmixed = kinds == sorted(kinds) or kinds == sorted(kinds, reverse=True)
        if len(models) != len(platforms):
            raise UsageError(
                f"{len(platforms)} --platform but {len(models)} --model: give one --model per "
                "--platform, in the same order"
            )
        if not unmixed:
            raise UsageError(
                "ambiguous --platform/--model order: write each --platform followed by its "
                "--model(s), e.g. --platform claude --model A --model B --platform gemini --model C"
            )
        pairs = list(zip(platforms, models, strict=True))
    return [
        Target(
            cast(Platform, p),
            m,
            {"web_search": True} if args.web_search and p not in NO_WEB_SEARCH_FIELD else None,
        )
        for p, m in pairs
    ]


def _grouped(order: list[tuple[str, str]]) -> list[tuple[str, str]] | None:
    """Each --model with the --platform before it, if every --platform has at least one."""
    if not order or order[0][0] != "platform":
        return None
    groups: list[tuple[str, list[str]]] = []
    for kind, value in order:
        if kind == "platform":
            groups.append((value, []))
        else:
            groups[-1][1].append(value)
    if not all(models for _, models in groups):
        return None
    return [(platform, model) for platform, models in groups for model in models]
