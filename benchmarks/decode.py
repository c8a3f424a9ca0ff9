"""Decode speed of a Live answer: msgspec Structs vs ``json.loads`` vs the official models.

Two bodies: the real ChatGPT Live answer from DataForSEO's docs (``tests/fixtures/dataforseo/``
in this repository), and a large synthetic one built here from it (many items and annotations;
labelled synthetic). Each decoder turns bytes into its user-facing objects.
Runs interleave the decoders, and each ratio to json.loads is taken within its run.
"""

from __future__ import annotations

import copy
import json
import timeit
from collections.abc import Callable
from typing import Any, Final

import msgspec

from ._report import Spread, Table
from ._runner import REPO
from .peers import Decoder, all_peers

FIXTURE: Final = REPO / "tests" / "fixtures" / "dataforseo" / "chat_gpt_live_response.json"
RUNS = 5
REAL_MICROS = 8.0
REAL_RATIO = 0.40
"""The bar on the real answer: the decoder as fast as before the Structs read nulls."""
REFERENCE = ("msgspec.json.decode → dicts (reference, untyped)", msgspec.json.decode)


def synthetic(
    base: dict[str, Any],
    *,
    messages: int = 20,
    sections: int = 4,
    annotations: int = 25,
    reasoning: int = 20,
) -> bytes:
    """A large Live answer made from ``base``: SYNTHETIC, not a real DataForSEO response."""
    body = copy.deepcopy(base)
    result = body["tasks"][0]["result"][0]
    reasoning_item = next(i for i in result["items"] if i["type"] == "reasoning")
    message_item = next(i for i in result["items"] if i["type"] == "message")
    section = message_item["sections"][0]
    cite = section["annotations"][0]
    items = []
    for n in range(max(messages, reasoning)):
        if n < reasoning:
            items.append(copy.deepcopy(reasoning_item))
        if n < messages:
            items.append(
                {
                    "type": "message",
                    "sections": [
                        {
                            **section,
                            "annotations": [
                                {
                                    **cite,
                                    "title": f"{cite['title']} #{n}.{s}.{a}",
                                    "url": f"https://example.com/{n}/{s}/{a}",
                                }
                                for a in range(annotations)
                            ],
                        }
                        for s in range(sections)
                    ],
                }
            )
    result["items"] = items
    result["fan_out_queries"] = [f"synthetic query {q}" for q in range(50)]
    return json.dumps(body).encode()


def decoders() -> list[tuple[str, Decoder]]:
    """Each peer's decoder, once per distinct label, then the untyped msgspec reference."""
    found: dict[str, Decoder] = {}
    problems: list[tuple[str, Decoder]] = []
    for peer in all_peers():
        if peer.decoder is None:
            continue
        reason = peer.unavailable()
        if reason is not None:
            problems.append((f"{peer.name}: {reason}", _missing))
            continue
        label, decode = peer.decoder()
        found.setdefault(label, decode)
    return [*found.items(), REFERENCE, *problems]


def _missing(raw: bytes) -> object:
    raise RuntimeError("not installed")


def run(quick: bool = False) -> list[Table]:
    """The decode table."""
    runs = 1 if quick else RUNS
    table = Table(
        "decode one Live answer into the objects the user gets",
        ("decoder", "body", "µs / decode", "× json.loads", "MB/s"),
    )
    raw = FIXTURE.read_bytes()
    bodies = [(f"real ChatGPT answer, {len(raw) / 1024:.1f} KB", raw)]
    base = json.loads(raw)
    big = synthetic(base) if not quick else synthetic(base, messages=2, reasoning=2)
    shape = "2 × 4 × 25" if quick else "20 messages × 4 sections × 25 annotations"
    bodies.append((f"SYNTHETIC: {shape}, {len(big) / 1024:.0f} KB", big))
    chosen = decoders()
    baseline = next(label for label, _ in chosen if label.startswith("json.loads"))
    for body_label, raw in bodies:
        times = _time(chosen, raw, runs, quick)
        for label, _ in chosen:
            per = times.get(label)
            if per is None:
                table.add(label, body_label, "**failed**", "–", "–")
                continue
            ratio = [p / b for p, b in zip(per, times[baseline], strict=True)]
            table.add(
                label,
                body_label,
                Spread.of(per).fmt(".1f" if per[0] < 100e-6 else ".0f", 1e6),
                Spread.of(ratio).fmt(".2f"),
                f"{len(raw) / Spread.of(per).median / 1e6:.0f}",
            )
    table.notes += [
        f"Median of {runs} runs (min–max), each timing as many decodes as fill ~0.2 s. "
        "'× json.loads' below 1 is faster than json.loads into dicts.",
        *_verdict(table),
    ]
    return [table]


def _time(
    chosen: list[tuple[str, Decoder]], raw: bytes, runs: int, quick: bool
) -> dict[str, list[float]]:
    """Seconds per decode, per decoder, one entry per run (decoders interleaved)."""
    timers: dict[str, tuple[timeit.Timer, int]] = {}
    for label, decode in chosen:
        try:
            decode(raw)
        except Exception:
            continue
        timer = timeit.Timer(_bound(decode, raw))
        number = 3 if quick else timer.autorange()[0]
        timers[label] = (timer, number)
    times: dict[str, list[float]] = {label: [] for label in timers}
    for _ in range(runs):
        for label, (timer, number) in timers.items():
            times[label].append(timer.timeit(number) / number)
    return times


def _bound(decode: Decoder, raw: bytes) -> Callable[[], object]:
    return lambda: decode(raw)


def _verdict(table: Table) -> list[str]:
    lines = []
    for row in table.rows:
        if row[0].endswith("(dfs_async)") and row[3] != "–":
            ratio = float(row[3].split()[0])
            verdict = "met" if ratio < 1 else "MISSED"
            lines.append(
                f"Goal (dfs_async faster than json.loads), {row[1]}: {verdict}, {ratio:.2f}×."
            )
            if row[1].startswith("real"):
                micros = float(row[2].split()[0])
                verdict = "met" if micros <= REAL_MICROS and ratio <= REAL_RATIO else "MISSED"
                lines.append(
                    f"Goal (≤ {REAL_MICROS:.0f} µs and ≤ {REAL_RATIO:.2f}× json.loads), "
                    f"{row[1]}: {verdict}, {micros:.1f} µs, {ratio:.2f}×."
                )
    return lines
