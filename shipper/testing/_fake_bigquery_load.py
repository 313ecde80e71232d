"""Load jobs for FakeBigQueryAPI: `jobs.insert` with media upload, as BigQuery's REST reference
and Google's upload protocols describe them.

Three ways the data arrives, all at `POST /upload/bigquery/v2/projects/P/jobs`:
- `uploadType=multipart`: one `multipart/related` request, the job resource (JSON) then the data
  (google-cloud-bigquery for files under 5 MB);
- `uploadType=resumable`: the job resource first, answered with a session URI in `Location`; the
  data then `PUT` there in pieces with `Content-Range: bytes a-b/total` (308 and `Range` until
  the last piece; `bytes */total` asks how much arrived) (google-cloud-bigquery's resumable
  upload);
- `X-Goog-Upload-Protocol: resumable`: `X-Goog-Upload-Command: start` with the job resource,
  answered with `X-Goog-Upload-URL`; then `query` (`X-Goog-Upload-Size-Received`) and
  `upload, finalize` at `X-Goog-Upload-Offset` (the Ruby google-api-client that
  fluent-plugin-bigquery uses).

The job runs when the data is complete, on NEWLINE_DELIMITED_JSON only:
- each line is a row judged by the same row check as `insertAll` (`shipper.rules.bigquery`,
  with load semantics: a JSON column takes the line's raw JSON value); a bad row is an entry in
  `status.errors`, "JSON parsing error in row starting at position N: ..." (N: the byte offset of
  its line in the upload, which is how a client maps an error back to its row);
- `maxBadRecords` (default 0) bad rows are skipped; one more and the job fails with
  `status.errorResult` (reason `invalid`) and writes nothing: a job is atomic, all of its good
  rows or none;
- a job id that exists already is refused with 409 `duplicate` "Already Exists: Job ...", and
  nothing is loaded a second time (how a client makes a retried or replayed load idempotent);
- a missing destination table fails the job (`notFound`), as does `WRITE_EMPTY` on a table that
  has rows; `WRITE_TRUNCATE` replaces the rows.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from ._fake_bigquery_common import ApiError, table_rules

NDJSON = "NEWLINE_DELIMITED_JSON"


@dataclass
class Answer:
    code: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Upload:
    project: str
    resource: dict[str, Any]
    data: bytearray = field(default_factory=bytearray)
    total: int | None = None


def split_multipart(raw: bytes, content_type: str) -> tuple[dict[str, Any], bytes]:
    """(the job resource, the data) of a multipart/related upload."""
    msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
    parts = list(msg.iter_parts()) if msg.is_multipart() else []
    if len(parts) != 2:
        raise ApiError(400, "invalid", "a multipart upload is two parts: the job resource, then the data")
    meta = parts[0].get_payload(decode=True) or b"{}"
    data = parts[1].get_payload(decode=True) or b""
    try:
        resource = json.loads(meta)
    except ValueError:
        raise ApiError(400, "parseError", "Parse error: the job resource is not JSON") from None
    return resource, data


def content_range(value: str) -> tuple[int | None, int | None, int | None]:
    """`bytes a-b/total` -> (a, b, total); `bytes */total` -> (None, None, total); `*` -> None."""
    unit, _, spec = value.strip().partition(" ")
    if unit != "bytes" or "/" not in spec:
        raise ApiError(400, "invalid", f"bad Content-Range {value!r}")
    span, _, total = spec.partition("/")
    n = None if total == "*" else int(total)
    if span == "*":
        return None, None, n
    a, _, b = span.partition("-")
    return int(a), int(b), n


class LoadJobs:
    """The load-job half of the stand-in; `fake` is the FakeBigQueryAPI (tables, jobs, lock)."""

    def __init__(self, fake: Any) -> None:
        self.fake = fake
        self.uploads: dict[str, Upload] = {}
        # a finished session answers a repeated last piece as it did the first time (a client
        # whose answer was lost asks again)
        self.finished: dict[str, Answer] = {}
        self.lose_responses = 0  # finished load jobs whose answer is lost (connection closed)
        # HTTP codes answered (one per job, in order) after a load job has run: the job exists,
        # the client hears of an error (as a backend error after the job was made)
        self.fail_after_run: list[int] = []

    # -- the three upload protocols ------------------------------------------------------
    def upload(self, method: str, project: str, query: dict[str, list[str]], raw: bytes,
               headers: dict[str, str]) -> Answer:
        h = {k.lower(): v for k, v in headers.items()}
        upload_id = (query.get("upload_id") or [""])[0]
        if upload_id:
            return self._session(method, upload_id, raw, h)
        if h.get("x-goog-upload-protocol") == "resumable":
            return self._goog(project, raw, h)
        kind = (query.get("uploadType") or [""])[0]
        if method == "POST" and kind == "multipart":
            resource, data = split_multipart(raw, h.get("content-type", ""))
            return Answer(200, self.run(project, resource, data))
        if method == "POST" and kind == "resumable":
            upload_id = self._open(project, raw)
            location = f"{self.fake.endpoint}/upload/bigquery/v2/projects/{project}/jobs?uploadType=resumable&upload_id={upload_id}"
            return Answer(200, None, {"Location": location})
        raise ApiError(400, "invalid", f"unknown upload (uploadType={kind!r})")

    def _open(self, project: str, raw: bytes) -> str:
        try:
            resource = json.loads(raw or b"{}")
        except ValueError:
            raise ApiError(400, "parseError", "Parse error: the job resource is not JSON") from None
        upload_id = uuid.uuid4().hex
        self.uploads[upload_id] = Upload(project, resource)
        return upload_id

    def _session(self, method: str, upload_id: str, raw: bytes, h: dict[str, str]) -> Answer:
        if upload_id in self.finished:
            return self.finished[upload_id]
        up = self.uploads.get(upload_id)
        if up is None:
            raise ApiError(404, "notFound", "Not found: upload session")
        if "x-goog-upload-command" in h:
            return self._goog_command(upload_id, up, raw, h)
        a, _, total = content_range(h.get("content-range", "bytes */*"))
        if a is not None:
            if a != len(up.data):
                raise ApiError(400, "invalid", f"piece starts at {a}, {len(up.data)} bytes received")
            up.data += raw
        if total is not None:
            up.total = total
        if up.total is not None and len(up.data) >= up.total:
            del self.uploads[upload_id]
            try:
                answer = Answer(200, self.run(up.project, up.resource, bytes(up.data)))
            except ApiError as exc:
                answer = Answer(exc.code, exc.body())
            self.finished[upload_id] = answer
            return answer
        headers = {"Range": f"bytes=0-{len(up.data) - 1}"} if up.data else {}
        return Answer(308, None, headers)

    def _goog(self, project: str, raw: bytes, h: dict[str, str]) -> Answer:
        if h.get("x-goog-upload-command", "").strip() != "start":
            raise ApiError(400, "invalid", "a resumable upload starts with X-Goog-Upload-Command: start")
        upload_id = self._open(project, raw)
        url = f"{self.fake.endpoint}/upload/bigquery/v2/projects/{project}/jobs?upload_id={upload_id}"
        return Answer(200, None, {"X-Goog-Upload-Status": "active", "X-Goog-Upload-URL": url})

    def _goog_command(self, upload_id: str, up: Upload, raw: bytes, h: dict[str, str]) -> Answer:
        commands = {c.strip() for c in h["x-goog-upload-command"].split(",")}
        if commands == {"query"}:
            return Answer(200, None, {"X-Goog-Upload-Status": "active",
                                      "X-Goog-Upload-Size-Received": str(len(up.data))})
        if "upload" in commands:
            offset = int(h.get("x-goog-upload-offset", "0"))
            if offset != len(up.data):
                raise ApiError(400, "invalid", f"upload offset {offset}, {len(up.data)} bytes received")
            up.data += raw
        if "finalize" in commands:
            del self.uploads[upload_id]
            try:
                answer = Answer(200, self.run(up.project, up.resource, bytes(up.data)),
                                {"X-Goog-Upload-Status": "final"})
            except ApiError as exc:
                answer = Answer(exc.code, exc.body(), {"X-Goog-Upload-Status": "final"})
            self.finished[upload_id] = answer
            return answer
        return Answer(200, None, {"X-Goog-Upload-Status": "active",
                                  "X-Goog-Upload-Size-Received": str(len(up.data))})

    # -- the job ---------------------------------------------------------------------------
    def run(self, project: str, resource: dict[str, Any], data: bytes) -> dict[str, Any]:
        """Run a load job on `data` (all of it), keep it, and answer its resource."""
        job = self._run(project, resource, data)
        if self.fail_after_run:
            code = self.fail_after_run.pop(0)
            raise ApiError(code, "backendError", "Backend error (injected after the job ran).")
        return job

    def _run(self, project: str, resource: dict[str, Any], data: bytes) -> dict[str, Any]:
        config = (resource.get("configuration") or {}).get("load")
        if not isinstance(config, dict):
            raise ApiError(400, "invalid", "an upload needs configuration.load")
        fmt = config.get("sourceFormat") or "CSV"
        if fmt != NDJSON:
            raise ApiError(400, "invalid", f"this stand-in loads {NDJSON} only, not {fmt}")
        ref = dict(resource.get("jobReference") or {})
        ref.setdefault("projectId", project)
        ref.setdefault("jobId", f"job_{uuid.uuid4().hex}")
        ref["location"] = ref.get("location") or "US"
        key = (ref["projectId"], ref["jobId"])
        if key in self.fake.jobs:
            raise ApiError(409, "duplicate", f"Already Exists: Job {ref['projectId']}:{ref['location']}.{ref['jobId']}")
        dest = config.get("destinationTable") or {}
        now = str(int(time.time() * 1000))
        job: dict[str, Any] = {
            "kind": "bigquery#job", "id": f"{ref['projectId']}:{ref['location']}.{ref['jobId']}",
            "selfLink": f"{self.fake.endpoint}/bigquery/v2/projects/{ref['projectId']}/jobs/{ref['jobId']}",
            "jobReference": ref, "configuration": {"jobType": "LOAD", "load": config},
            "status": {"state": "DONE"},
            "statistics": {"creationTime": now, "startTime": now, "endTime": now,
                           "load": {"inputFiles": "1", "inputFileBytes": str(len(data)),
                                    "outputRows": "0", "outputBytes": "0", "badRecords": "0"}},
        }
        self.fake.jobs[key] = job
        table = self.fake.tables.get((dest.get("projectId") or project, dest.get("datasetId", ""),
                                      dest.get("tableId", "")))
        if table is None:
            return self._fail(job, "notFound", f"Not found: Table {dest.get('projectId') or project}:"
                                               f"{dest.get('datasetId')}.{dest.get('tableId')} was not found in location US")
        disposition = config.get("writeDisposition") or "WRITE_APPEND"
        if disposition == "WRITE_EMPTY" and table.rows:
            return self._fail(job, "duplicate", f"Already Exists: Table {table.resource['id']}")
        judge = table_rules(table, load=True)
        ignore_unknown = bool(config.get("ignoreUnknownValues"))
        good: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        rows = 0
        position = 0
        for line in data.split(b"\n"):
            start, position = position, position + len(line) + 1
            if not line.strip():
                continue
            rows += 1
            try:
                row = json.loads(line, parse_constant=_no_constant)
            except (ValueError, RecursionError) as exc:
                errors.append(_row_error(start, f"Parser terminated before end of string ({exc})"))
                continue
            err, stored = judge(row, ignore_unknown)
            if err is not None:
                errors.append(_row_error(start, err))
            else:
                good.append(stored)
        allowed = int(config.get("maxBadRecords") or 0)
        stats = job["statistics"]["load"]
        stats["badRecords"] = str(len(errors))
        if len(errors) > allowed:
            head = {"reason": "invalid", "message": (
                "Error while reading data, error message: JSON table encountered too many errors, "
                f"giving up. Rows: {rows}; errors: {len(errors)}. Please look into the errors[] "
                "collection for more details.")}
            job["status"] = {"state": "DONE", "errorResult": head, "errors": [head, *errors]}
            return _public(job)
        if disposition == "WRITE_TRUNCATE":
            table.rows = []
        table.rows.extend(good)
        table.resource["numRows"] = str(len(table.rows))
        stats["outputRows"] = str(len(good))
        stats["outputBytes"] = str(sum(len(json.dumps(r)) for r in good))
        if errors:
            job["status"]["errors"] = errors
        return _public(job)

    def _fail(self, job: dict[str, Any], reason: str, message: str) -> dict[str, Any]:
        err = {"reason": reason, "message": message}
        job["status"] = {"state": "DONE", "errorResult": err, "errors": [err]}
        return _public(job)


def _row_error(position: int, message: str) -> dict[str, Any]:
    return {"reason": "invalid", "message": (
        f"Error while reading data, error message: JSON parsing error in row starting at position "
        f"{position}: {message}")}


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _public(job: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps({k: v for k, v in job.items() if not k.startswith("_")}))
