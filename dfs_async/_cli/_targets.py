"""``dfs-async sweep`` targets: ``--platform``/``--model`` pairs, in the order given, or models
alone with the platform told by the name; and the fields sent with every plain-text prompt."""

from __future__ import annotations

import argparse
import re
from typing import Final, cast

from .._platforms import Platform
from .._records._records import Target
from ._usage import UsageError

NO_WEB_SEARCH_FIELD: Final[frozenset[Platform]] = frozenset({"perplexity"})
"""Platforms that reject the ``web_search`` field (Perplexity always searches)."""

MODEL_PREFIXES: Final[tuple[tuple[re.Pattern[str], Platform], ...]] = (
    (re.compile(r"gpt-|chatgpt-|o\d"), "chat_gpt"),
    (re.compile(r"claude-"), "claude"),
    (re.compile(r"gemini-"), "gemini"),
    (re.compile(r"sonar"), "perplexity"),
)
"""Model names that tell their platform: ``gpt-4.1-mini``, ``o3`` → chat_gpt, and so on."""

_PROMPT_FIELDS: Final = (
    ("system", "system_message"),
    ("temperature", "temperature"),
    ("max_tokens", "max_output_tokens"),
)
"""Flags sent with every prompt of every target, and the request field each sets."""


def platform_of(model: str) -> Platform | None:
    """The platform a model name tells (``claude-sonnet-4-0`` → claude), or None."""
    for pattern, platform in MODEL_PREFIXES:
        if pattern.match(model):
            return platform
    return None


def targets(args: argparse.Namespace) -> list[Target]:
    """Pair ``--platform`` and ``--model`` into targets, or raise `UsageError`."""
    order: list[tuple[str, str]] = getattr(args, "order", None) or []
    platforms = [value for kind, value in order if kind == "platform"]
    models = [value for kind, value in order if kind == "model"]
    if platforms and not models:
        raise UsageError(
            "give a --model for each --platform (e.g. --platform claude --model claude-sonnet-4-0)"
        )
    pairs = _paired(order, platforms, models) if platforms else _inferred(models)
    if not pairs:
        if args.web_search:
            raise UsageError(
                "--web-search needs a --model; without one, set web_search in each JSONL request"
            )
        return []
    return [Target(cast(Platform, p), m, _fields(args, cast(Platform, p))) for p, m in pairs]


def _inferred(models: list[str]) -> list[tuple[str, str]]:
    """Each model with the platform its name tells; none when one alone tells nothing (then it
    is the default model of JSONL requests that name their platform)."""
    found = [(platform_of(m), m) for m in models]
    if all(p is not None for p, _ in found):
        return [(cast(str, p), m) for p, m in found]
    if len(models) == 1:
        return []
    unknown = next(m for p, m in found if p is None)
    raise UsageError(
        f"--model {unknown}: its name does not tell its platform; put --platform PLATFORM "
        "before it (gpt-*, o1.., claude-*, gemini-* and sonar* need none)"
    )


def _paired(
    order: list[tuple[str, str]], platforms: list[str], models: list[str]
) -> list[tuple[str, str]]:
    pairs = _grouped(order)
    if pairs is not None:
        return pairs
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
    return list(zip(platforms, models, strict=True))


def _fields(args: argparse.Namespace, platform: Platform) -> dict[str, object] | None:
    fields: dict[str, object] = {}
    if args.web_search and platform not in NO_WEB_SEARCH_FIELD:
        fields["web_search"] = True
    for flag, field in _PROMPT_FIELDS:
        if (value := getattr(args, flag, None)) is not None:
            fields[field] = value
    return fields or None


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
