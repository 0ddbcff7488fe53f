"""The hash chain of a version's audit trail: canonical records, SHA-256 links, optional HMAC.

Pure functions. The chain is per version (the trail artifact is per training run,
and a version's events are what its stage and aliases must be backed by): each
record carries `prev_hash`, the hash of the version's previous record (`GENESIS`
for the first), and `hash`, the SHA-256 of the record's canonical JSON without
`hash` and `mac`. With `ATTRITION_AUDIT_KEY` set, `mac` is an HMAC-SHA256 of the
hash under that key. The version's summary tag `attrition.audit` anchors the
head: `chain <count> head <hash>` (and `mac <hmac>` with a key), so a deleted last
record, or a whole trail swapped for another, no longer matches the tag.

Without a key, someone with write access to the run's artifacts and the version's
tags can rewrite the trail and recompute every hash and the anchor; hashing
alone cannot tell. With the key, they cannot forge the MACs without it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64
KEY_ENV = "ATTRITION_AUDIT_KEY"
UNHASHED = ("hash", "mac")
_ANCHOR = re.compile(r"chain (\d+) head ([0-9a-f]{64})(?: mac ([0-9a-f]{64}))?")


def audit_key() -> bytes | None:
    """The HMAC key from `ATTRITION_AUDIT_KEY`, or None when it is unset or empty."""
    value = os.environ.get(KEY_ENV, "")
    return value.encode() if value else None


def canonical(record: Mapping[str, Any]) -> bytes:
    """The record's canonical JSON (sorted keys, no spaces, UTF-8), without `hash` and `mac`."""
    body = {k: v for k, v in record.items() if k not in UNHASHED}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def record_hash(record: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the record's canonical JSON."""
    return hashlib.sha256(canonical(record)).hexdigest()


def sign(key: bytes, text: str) -> str:
    """HMAC-SHA256 (hex) of `text` under `key`."""
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def seal(record: dict[str, Any], prev_hash: str, key: bytes | None) -> dict[str, Any]:
    """Link `record` after `prev_hash`, then set its `hash` (and `mac` with a key), in place."""
    record["prev_hash"] = prev_hash
    record.pop("mac", None)
    record["hash"] = record_hash(record)
    if key is not None:
        record["mac"] = sign(key, record["hash"])
    return record


def is_chained(record: Mapping[str, Any]) -> bool:
    return bool(record.get("hash"))


def anchor_text(count: int, head: str, key: bytes | None) -> str:
    """The head anchor written at the start of the summary tag."""
    text = f"chain {count} head {head}"
    return f"{text} mac {sign(key, f'{count}:{head}')}" if key is not None else text


@dataclass(frozen=True)
class Anchor:
    """The head the summary tag claims: how many records and the last record's hash."""

    count: int
    head: str
    mac: str | None = None


def parse_anchor(summary: str | None) -> Anchor | None:
    """The anchor in a summary tag, or None when the tag has none (absent or legacy)."""
    match = _ANCHOR.search(summary or "")
    if match is None:
        return None
    return Anchor(int(match.group(1)), match.group(2), match.group(3))


def chain_problems(
    records: Sequence[Mapping[str, Any]], anchor: Anchor | None, key: bytes | None
) -> list[str]:
    """What is wrong with one version's chain (oldest record first); empty when intact.

    A trail with no chained record at all is legacy: only its sequence numbers are
    checked (a gap is a deleted record). A chained trail must link from `GENESIS`,
    every hash must match its record, and the summary anchor must name its length
    and head. With a key, every MAC present must verify and the head must carry one.
    """
    problems = _sequence_gaps(records)
    chained = [r for r in records if is_chained(r)]
    if not chained:
        return problems
    prev = GENESIS
    for record in records:
        seq = record.get("seq", "?")
        if not is_chained(record):
            problems.append(f"record {seq} is unchained amid chained records (inserted?)")
            continue
        if record.get("prev_hash") != prev:
            problems.append(f"record {seq} does not follow the previous one (deleted or inserted)")
        if record_hash(record) != record["hash"]:
            problems.append(f"record {seq} was edited (its hash does not match)")
        if key is not None and record.get("mac") and record["mac"] != sign(key, record["hash"]):
            problems.append(f"record {seq} has an invalid MAC")
        prev = str(record["hash"])
    head = records[-1]
    if anchor is None:
        problems.append("the summary tag attrition.audit has no chain head (edited or deleted)")
    elif anchor.count != len(records) or anchor.head != head.get("hash"):
        problems.append(
            f"the summary tag names {anchor.count} records, head {anchor.head[:12]}; the trail "
            f"has {len(records)}, head {str(head.get('hash'))[:12]} (record deleted or edited)"
        )
    if key is not None:
        if not head.get("mac"):
            problems.append("the last record carries no MAC although a key is set")
        if anchor is not None and anchor.mac != sign(key, f"{anchor.count}:{anchor.head}"):
            problems.append("the summary tag's MAC does not verify")
    return problems


def _sequence_gaps(records: Sequence[Mapping[str, Any]]) -> list[str]:
    seqs = [r.get("seq") for r in records]
    expected = list(range(1, len(records) + 1))
    if seqs == expected:
        return []
    if len(set(map(str, seqs))) != len(seqs):
        return ["two records share a sequence number (inserted?)"]
    missing = sorted(set(range(1, max((s for s in seqs if isinstance(s, int)), default=0) + 1)))
    missing = [s for s in missing if s not in seqs]
    if missing:
        return [f"record(s) {', '.join(map(str, missing))} missing from the trail (deleted)"]
    return ["records are out of sequence"]
