"""Write rows into BigQuery with load jobs: NEWLINE_DELIMITED_JSON, uploaded resumably.

Why: insertAll (streaming) is billed per byte, each row at least 1 KB; load jobs are free within
a table's daily job quota (docs/cost.md). A backlog replayed by `shipper load` does not need
rows queryable within seconds, so above a size threshold (or `--mode load`) it goes this way.

How, per table:
- rows are encoded as fluent-plugin-bigquery's `bigquery_load` sends them (the routing key
  removed, a JSON column's value as its raw JSON value: a load job stores it as given) and
  spooled to a temporary file, one line each, with each line's byte offset and input line;
- a spool of `job_bytes` (or the end of the input) becomes one load job, uploaded with
  google-cloud-bigquery's resumable upload;
- the job id is derived from the content (table, dataset and the spooled bytes), so a re-run
  of the same backlog asks for the same jobs: BigQuery answers "Already Exists" (409) and the
  job that exists is read back and counted as done (`already loaded`), nothing loaded twice.
  An existing job that failed as a whole (e.g. the table did not exist yet) is not the end:
  the next id in a fixed sequence (`<id>_r1`, `_r2`, ...) is tried, so re-runs stay idempotent;
- each job is atomic (all its good rows or none) and runs with `maxBadRecords` = its row count,
  so a bad row never sinks the others: BigQuery names each bad row by the byte position of its
  line ("... row starting at position N: ..."), which maps it back to its input line and its
  row, refused into the reject file with BigQuery's reason;
- stopped (Ctrl-C), spools not yet loaded are not loaded: the resume point is their first line,
  so a re-run cuts the same jobs and finds the loaded ones by their ids.

A re-run of a backlog that grew in between cuts its last job differently: rows of the first run's
last job may then be loaded again. Replay a file that is still being written with
`--mode stream` (insertIds) or after it is complete.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import time
from array import array
from bisect import bisect_left
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

import orjson

from ._bigquery_insert import InsertAllWriter, _Refusal
from ._duckdb_load import REFUSED_KIND
from ._errors import LoadAborted
from ._protocol import WriteReport

if TYPE_CHECKING:  # pragma: no cover
    from ..registry import Table
    from .bigquery import BigQueryWarehouse

JOB_BYTES = 512 * 1024 * 1024  # one load job per this much NDJSON (BigQuery takes up to 15 TB)
MAX_ATTEMPTS = 10  # ids tried per job when earlier runs' jobs with the same content failed whole
NOTICE_BYTES = 8 * 1024 * 1024  # a job this large says so before its upload starts
# A resumable upload's piece. google-cloud-bigquery sends 100 MB pieces and holds about three and
# a half copies of one while it is sent: 442 MB peak for 1M lines. At 16 MiB (a multiple of the
# 256 KiB BigQuery asks for) the loader stays near its own ~100 MB: 38 requests for 300 MB.
UPLOAD_CHUNK_BYTES = 16 * 1024 * 1024
_POSITION = re.compile(r"row starting at position (\d+)(?:[^:]*): ?(.*)", re.DOTALL)


@dataclass
class _Line:
    ordinal: int
    data: bytes


@dataclass
class _Spool:
    file: BinaryIO
    offsets: array = field(default_factory=lambda: array("q"))
    ordinals: array = field(default_factory=lambda: array("q"))
    size: int = 0
    digest: Any = None


class LoadJobWriter(InsertAllWriter):
    """The `RowWriter` of `shipper load --mode load` into BigQuery (see the module docstring)."""

    json_as_text = False

    def __init__(self, warehouse: BigQueryWarehouse, report: WriteReport, *, job_bytes: int = JOB_BYTES,
                 **options: Any) -> None:
        super().__init__(warehouse, report, **options)
        self.job_bytes = job_bytes
        self.jobs = 0  # load jobs made or found done
        self._spools: dict[str, _Spool] = {}
        self._tables: dict[str, Table] = {}
        self._interrupted = False

    def pending_row(self, row: dict[str, Any], key: str, ordinal: int) -> Any:
        try:
            return _Line(ordinal, orjson.dumps(row))
        except (TypeError, orjson.JSONEncodeError) as exc:
            return _Refusal(ordinal, REFUSED_KIND, f"not a JSON row BigQuery can load: {exc}", row)

    def write(self, table: Table, first: int, rows: list[Any]) -> None:
        name = table.name
        self._tables[name] = table
        for p in rows:
            if self.settled(name, p):
                continue
            spool = self._spools.get(name)
            if spool is None:
                spool = self._spools[name] = _Spool(tempfile.TemporaryFile(prefix=f"shipper-load-{name}-"))  # noqa: SIM115
                spool.digest = hashlib.sha256(f"{self.wh.project}.{self.wh.dataset}.{name}\n".encode())
            spool.offsets.append(spool.size)
            spool.ordinals.append(p.ordinal)
            spool.file.write(p.data + b"\n")
            spool.digest.update(p.data + b"\n")
            spool.size += len(p.data) + 1
            if spool.size >= self.job_bytes:
                del self._spools[name]
                self._load(name, spool)

    def pending(self) -> list[int]:
        return [s.ordinals[0] for s in self._spools.values() if len(s.ordinals)]

    def flush(self) -> None:
        if self._interrupted:
            return
        for name in list(self._spools):
            self._load(name, self._spools.pop(name))

    def interrupt(self) -> None:
        """A stop: spooled rows are not loaded (the loader resumes from their first line)."""
        self._interrupted = True

    def close(self) -> None:
        for s in self._spools.values():
            s.file.close()
        self._spools.clear()
        super().close()

    # -- one job -------------------------------------------------------------------------
    def _load(self, table: str, spool: _Spool) -> None:
        try:
            self._run(table, spool)
        finally:
            spool.file.close()

    def _run(self, table: str, spool: _Spool) -> None:
        from google.api_core import exceptions as gexc
        from google.cloud import bigquery

        rows = len(spool.ordinals)
        base = f"shipper_load_{table}_{spool.digest.hexdigest()[:40]}"
        ref = f"{self.wh.project}.{self.wh.dataset}.{table}"
        config = bigquery.LoadJobConfig(
            source_format=bigquery.SourceFormat.NEWLINE_DELIMITED_JSON,
            write_disposition=bigquery.WriteDisposition.WRITE_APPEND,
            create_disposition=bigquery.CreateDisposition.CREATE_NEVER,
            ignore_unknown_values=False, max_bad_records=rows)
        if spool.size >= NOTICE_BYTES:
            self.report.notice(f"load job into {table}: uploading {rows:,} rows ({spool.size / 1e6:,.1f} MB)")
        spool.file.flush()
        for attempt in range(MAX_ATTEMPTS):
            job_id = base if attempt == 0 else f"{base}_r{attempt}"
            try:
                job, fresh = self._submit(job_id, ref, config, spool)
                try:
                    job.result(retry=self.wh.retry(), timeout=self.wh.timeout)
                except gexc.GoogleAPIError:
                    pass  # the job failed as a whole: its error_result says how, below
            except gexc.GoogleAPIError as exc:
                raise LoadAborted(f"BigQuery load job into {table} failed: {_first_line(exc)}") from None
            self.jobs += 1
            failed = job.error_result
            if failed and not fresh:
                continue  # an earlier run's job with this content failed whole: the next id
            if failed and failed.get("reason") == "notFound":
                self._refuse_spool(table, spool, "table does not exist in the dataset",
                                   f"table does not exist in the dataset (create it: shipper tables apply); "
                                   f"BigQuery: {failed.get('message')}")
                return
            refused = self._refused_rows(table, spool, job.errors or [])
            if failed and not refused:
                raise LoadAborted(f"BigQuery load job {job_id} into {table} failed: "
                                  f"{failed.get('reason')}: {failed.get('message')}")
            if failed:
                # over maxBadRecords, which is every row: the rows not named are not loaded either
                named = set(refused)
                for i, ordinal in enumerate(spool.ordinals):
                    if i not in named:
                        self.report.refused(ordinal, table, REFUSED_KIND,
                                            f"not loaded: BigQuery failed the whole job ({failed.get('message')})",
                                            self._row_at(spool, i))
                return
            bad = int(getattr(job, "_properties", {}).get("statistics", {}).get("load", {}).get("badRecords") or 0)
            unnamed = max(0, bad - len(refused))
            if unnamed:
                self.report.notice(f"load job {job_id}: BigQuery skipped {unnamed:,} bad row(s) without naming "
                                   "their position; they are not in the table")
            ok = rows - len(refused) - unnamed
            if fresh:
                self.report.loaded(table, ok, 0)
            else:
                self.report.loaded(table, 0, ok)
            return
        raise LoadAborted(f"BigQuery load jobs into {table} failed {MAX_ATTEMPTS} times for the same rows "
                          f"(job ids {base}..._r{MAX_ATTEMPTS - 1}); see them with `bq show -j`")

    def _submit(self, job_id: str, ref: str, config: Any, spool: _Spool) -> tuple[Any, bool]:
        """Upload the spool as job `job_id`: (the job, whether this run made it).

        A failed request (connection lost, 5xx, 429) is sent again with the same job id until the
        warehouse's timeout: if the job was made and only its answer lost, BigQuery answers 409
        and the job is read back; a 409 on the first request is an earlier run's job."""
        from google.api_core import exceptions as gexc

        deadline = time.monotonic() + self.wh.timeout
        wait, sent = 1.0, False
        while True:
            try:
                self.requests += 1
                with _upload_chunks(UPLOAD_CHUNK_BYTES):
                    job = self.wh.client.load_table_from_file(spool.file, ref, job_id=job_id,
                                                              job_config=config, rewind=True,
                                                              num_retries=0, timeout=60)
                return job, True
            except gexc.Conflict:  # a job with this id exists: read it back
                return self.wh.client.get_job(job_id, retry=self.wh.retry()), sent
            except (gexc.ServerError, gexc.TooManyRequests, ConnectionError, OSError) as exc:
                problem: BaseException = exc
            except Exception as exc:
                if not type(exc).__module__.startswith(("requests", "urllib3", "google.resumable_media")):
                    raise
                problem = exc
            sent = True
            if time.monotonic() + wait > deadline:
                raise LoadAborted(f"BigQuery load job into {ref.rsplit('.', 1)[1]} failed: {_first_line(problem)}")
            self.report.notice(f"load job {job_id}: {_first_line(problem)}; sending it again with the same "
                               f"job id (gives up after {self.wh.timeout:.0f} s; Ctrl-C stops)")
            time.sleep(wait)
            wait = min(wait * 2, 30.0)

    def _refused_rows(self, table: str, spool: _Spool, errors: list[dict[str, Any]]) -> dict[int, str]:
        """BigQuery's per-row errors -> {row index: reason}, each reported as a reject."""
        out: dict[int, str] = {}
        for e in errors:
            m = _POSITION.search(e.get("message") or "")
            if m is None:
                continue
            i = bisect_left(spool.offsets, int(m[1]))
            if i >= len(spool.offsets) or spool.offsets[i] != int(m[1]) or i in out:
                continue
            out[i] = m[2].strip() or e.get("reason", "invalid")
        for i, reason in sorted(out.items()):
            self.report.refused(spool.ordinals[i], table, REFUSED_KIND, f"refused by BigQuery: {reason}",
                                self._row_at(spool, i))
        return out

    def _row_at(self, spool: _Spool, i: int) -> Any:
        spool.file.seek(spool.offsets[i])
        line = spool.file.readline().rstrip(b"\n")
        try:
            return orjson.loads(line)
        except orjson.JSONDecodeError:
            return line

    def _refuse_spool(self, table: str, spool: _Spool, kind: str, reason: str) -> None:
        for i, ordinal in enumerate(spool.ordinals):
            self.report.refused(ordinal, table, kind, reason, self._row_at(spool, i))


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "message", None) or exc)
    return text.splitlines()[0][:300] if text else type(exc).__name__


@contextmanager
def _upload_chunks(size: int) -> Iterator[None]:
    """Resumable uploads in pieces of at most `size` bytes, for the duration of one call.

    google-cloud-bigquery has no parameter for the piece size: `load_table_from_file` reads its
    module constant `_DEFAULT_CHUNKSIZE` (100 MB) each time it starts an upload. It is lowered
    here and put back after; a client library without the constant is left as it is (the
    bench's peak-memory line shows it)."""
    from google.cloud.bigquery import client as bq_client

    old = getattr(bq_client, "_DEFAULT_CHUNKSIZE", None)
    if not isinstance(old, int) or old <= size:
        yield
        return
    bq_client._DEFAULT_CHUNKSIZE = size  # type: ignore[attr-defined]
    try:
        yield
    finally:
        bq_client._DEFAULT_CHUNKSIZE = old  # type: ignore[attr-defined]
