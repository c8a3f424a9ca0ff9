"""Hand-built results files: records in the exact line format a sweep writes."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import msgspec

from dfs_async.visibility import BrandConfig, parse_brands

BRANDS = parse_brands(
    {
        "settings": {"primary": "acme"},
        "brands": {
            "acme": {
                "name": "Acme",
                "names": ["Acme", "Acme Corp"],
                "products": {"Acme Flow": ["Acme Flow", "AcmeFlow"]},
                "case_sensitive": ["ACME"],
                "exclude": ["acme of perfection"],
                "domains": ["acme.com"],
            },
            "globex": {"names": ["Globex"], "domains": ["globex.com"]},
            "initech": {"name": "Initech", "names": ["Initech"]},
        },
    }
)


def record(
    prompt: str,
    text: str | None,
    *,
    platform: str = "chat_gpt",
    model: str = "gpt-4.1-mini",
    version: str = "gpt-4.1-mini-2025-04-14",
    sample: int = 0,
    urls: Sequence[str] = (),
    cost: float = 0.01,
    metadata: dict[str, object] | None = None,
) -> dict[str, object]:
    """One results-file record: answered with ``text`` citing ``urls``, or failed (None)."""
    key = hashlib.sha256(f"{platform}|{model}|{prompt}|{sample}".encode()).hexdigest()[:32]
    head: dict[str, object] = {
        "key": key,
        "index": 0,
        "platform": platform,
        "model_name": model,
        "prompt": prompt,
        "ok": text is not None,
        "cost": cost,
        "sample": sample,
    }
    if metadata is not None:
        head["metadata"] = metadata
    if text is None:
        head["error"] = {"type": "ServerError", "message": "50000 Internal Error"}
        return head
    section = {"type": "text", "text": text, "annotations": [{"url": u} for u in urls]}
    result = {"model_name": version, "items": [{"type": "message", "sections": [section]}]}
    head["response"] = {"status_code": 20000, "tasks": [{"status_code": 20000, "result": [result]}]}
    return head


def write(path: Path, records: Sequence[dict[str, object]]) -> Path:
    """Write ``records`` as a results file, one JSON line each."""
    path.write_bytes(b"".join(msgspec.json.encode(r) + b"\n" for r in records))
    return path


def config() -> BrandConfig:
    """The fixture's brand config."""
    return BRANDS
