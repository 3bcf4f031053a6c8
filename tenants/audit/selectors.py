"""Reading the access log's hash chain back: is every row still as it was written?

The database chains each row as it is inserted (migration 0003): seq, prev_hash, and hash =
sha256(prev_hash | the row's text). Here the rows are walked in seq order and every link recomputed in
Python, apart from the database's own function, so that a row edited, removed or slipped in by someone
with the owner's powers (who can switch the triggers off) shows as the first link that no longer holds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection
from django.db.backends.utils import CursorWrapper

from tenants.selectors import current_schema

GENESIS = "0" * 64
# Column order and formatting of the row's text; the same as audit_accesslog_link() in the migration.
ROWS_SQL = """
SELECT id, seq, prev_hash, hash,
       to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), actor_id, actor_label, action,
       object_type, object_id, patient_id, reason, host(ip_address), user_agent, path
  FROM audit_accesslog
 WHERE seq > %s AND seq <= %s
 ORDER BY seq
 LIMIT %s
"""


@dataclass(frozen=True)
class ChainReport:
    """The outcome of walking one chain's access log. `rows` counts the rows that were verified
    before the first broken link (all of them when the chain holds)."""

    schema: str
    rows: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    broken_id: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


def canonical_text(seq: int, row_id: int, values: Sequence[object]) -> str:
    """Each column as "<length>:<value>" ("-" for NULL) followed by "|": no value can pass for two."""
    parts = [seq, row_id, *values]
    return "".join("-|" if p is None else f"{len(str(p))}:{p}|" for p in parts)


def link_hash(prev_hash: str, text: str) -> str:
    return hashlib.sha256(f"{prev_hash}|{text}".encode()).hexdigest()


def access_log_chain_verify(*, batch: int = 5000) -> ChainReport:
    """Verify the access log of the current schema's chain, up to the head as it is now.

    Rows inserted while the walk runs are past the head read at its start and are left for the next
    walk: the head and the rows up to it are committed together, so they always agree."""
    schema = current_schema()
    with connection.cursor() as cursor:
        cursor.execute("SELECT seq, hash FROM audit_chainhead WHERE id = 1")
        head = cursor.fetchone()
        if head is None:
            return ChainReport(schema, 0, 0, "", problem="the chain's head row is missing")
        head_seq, head_hash = head
        report = _walk(cursor, schema=schema, head_seq=head_seq, head_hash=head_hash, batch=batch)
        if report.ok:
            # A row with no place in the chain was inserted while the chain's trigger was off.
            cursor.execute("SELECT id FROM audit_accesslog WHERE seq < 1 ORDER BY id LIMIT 1")
            stray = cursor.fetchone()
            if stray is not None:
                return ChainReport(
                    schema, report.rows, head_seq, head_hash, None, stray[0], "a row was added outside the chain"
                )
    return report


def _walk(cursor: CursorWrapper, *, schema: str, head_seq: int, head_hash: str, batch: int) -> ChainReport:
    prev_seq, prev_hash = 0, GENESIS

    def broken(seq: int | None, row_id: int | None, problem: str) -> ChainReport:
        return ChainReport(schema, prev_seq, head_seq, head_hash, seq, row_id, problem)

    while True:
        cursor.execute(ROWS_SQL, [prev_seq, head_seq, batch])
        rows = cursor.fetchall()
        for row_id, seq, row_prev_hash, row_hash, *values in rows:
            if seq != prev_seq + 1:
                gap = f"row {prev_seq + 1} is" if seq == prev_seq + 2 else f"rows {prev_seq + 1} to {seq - 1} are"
                return broken(seq, row_id, f"{gap} missing before it")
            if row_prev_hash != prev_hash:
                return broken(seq, row_id, "it does not link to the row before it")
            if link_hash(prev_hash, canonical_text(seq, row_id, values)) != row_hash:
                return broken(seq, row_id, "it was changed after it was written")
            prev_seq, prev_hash = seq, row_hash
        if len(rows) < batch:
            break
    if prev_seq != head_seq:
        return broken(prev_seq + 1, None, f"the chain's last rows are missing (its head is at {head_seq})")
    if prev_hash != head_hash:
        return broken(head_seq, None, "the chain's head does not match its last row")
    return ChainReport(schema, prev_seq, head_seq, head_hash)
