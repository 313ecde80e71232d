"""FakeBigQueryAPI: an HTTP stand-in for the parts of the BigQuery REST API v2 that logbridge uses.

It is a fake, named as one: no usable BigQuery emulator runs offline here (bqemulator needs the
network at start, accepts invalid rows and breaks tables on schema updates). The real
`google-cloud-bigquery` client talks to it over HTTP, so tests exercise the real client, its
request building and its error mapping. It answers as the API reference documents:

- `datasets.get/insert`, `tables.get/insert/patch/update/delete`, `tabledata.insertAll`,
  `tabledata.list` (f/v rows; a missing REPEATED field reads back as `[]`, as BigQuery stores it);
- `jobs.insert` for queries (with `dryRun`: nothing runs, `statistics.query.statementType` and
  `totalBytesProcessed` are filled in; `maximumBytesBilled` is enforced), `jobs.get` and
  `jobs.getQueryResults`. The SQL itself runs on DuckDB behind the scenes (see
  `_fake_bigquery_jobs`): this is a stand-in that answers in BigQuery's shapes, not BigQuery's engine;
- `jobs.insert` for load jobs with media upload (multipart, resumable, and the X-Goog-Upload
  protocol of the Ruby client): NEWLINE_DELIMITED_JSON, per-row errors in `status.errors`,
  `maxBadRecords`, atomic jobs, a duplicate job id answered 409 (see `_fake_bigquery_load`);
- schema changes on patch/update follow "Modifying table schemas": add NULLABLE/REPEATED
  columns (REQUIRED only inside a new RECORD), relax REQUIRED->NULLABLE; anything else is a
  400 `invalid` error and the table is left as it was;
- insertAll and load jobs check every row with one row check, the BigQuery target of the
  column-rule model (`shipper.rules.bigquery`): the model's type-level checks with BigQuery's
  own semantics (it converts "200" into INT64, 7 into STRING, "true" into BOOL, epoch seconds
  into TIMESTAMP; it knows no enum/maxLength/minimum/maximum), held to the `bigquery` answer of
  every vector in tests/vectors/record_verdicts.jsonl;
- insertAll a bad row gets `invalid` errors in
  `insertErrors` with HTTP 200; without `skipInvalidRows` the other rows get `stopped` and
  nothing is written; `insertId` de-duplicates (best effort in BigQuery; always here, which
  tests must not rely on beyond "a replay does not duplicate"); requests over 10 MB or 50,000
  rows are rejected with 400; a JSON column's value given as a string is JSON text (BigQuery
  parses it: `"not json {"` is refused, `"5"` is the number 5), any other value is the JSON value.

Faults a test can inject, as a network or an outage shows them to a client:
- `fail_next`: answer the next requests with an HTTP error before handling them;
- `lose_responses`: handle the next `insertAll` requests (rows stored) but close the connection
  without an answer, as when a response is lost on the way back: a client must retry with the
  same insertIds and store nothing twice; `load.lose_responses` does the same to finished load
  jobs (a client must retry with the same job id, and is answered 409);
- `stop()` then `start(port=the same port)`: BigQuery unreachable (connection refused), then back.

The row check reads the live table's schema, never the registry: its rules come from the
column-rule model (one meaning per rule), its semantics from BigQuery's documentation, and the
vector file holds it to what BigQuery answers, which differs from the registry's judges.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from ._fake_bigquery_common import ApiError, _Table, table_rules

MAX_REQUEST_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,299}$")
TYPE_NAMES = {"INT64": "INTEGER", "FLOAT64": "FLOAT", "BOOL": "BOOLEAN", "STRUCT": "RECORD"}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    size: int
    headers: dict[str, str] = field(default_factory=dict)


def _norm_type(t: str) -> str:
    t = str(t).upper()
    return TYPE_NAMES.get(t, t)


def _check_schema(fields: list[dict[str, Any]], depth: int = 1) -> None:
    seen: set[str] = set()
    if depth > 15:
        raise ApiError(400, "invalid", "Field nesting too deep (maximum 15 levels).")
    for f in fields:
        name = f.get("name", "")
        if not NAME.match(name):
            raise ApiError(400, "invalid", f"Invalid field name \"{name}\". Fields must contain only letters, "
                                           "numbers, and underscores, start with a letter or underscore, "
                                           "and be at most 300 characters long.")
        if name.lower() in seen:
            raise ApiError(400, "duplicate", f"Field {name} already exists in schema")
        seen.add(name.lower())
        if _norm_type(f.get("type", "")) == "RECORD":
            _check_schema(f.get("fields", []), depth + 1)


def _schema_change_error(old: list[dict[str, Any]], new: list[dict[str, Any]], prefix: str = "",
                         parent_new: bool = False) -> str | None:
    """BigQuery's in-place schema rules, as "Modifying table schemas" states them."""
    new_by = {f["name"].lower(): f for f in new}
    for o in old:
        n = new_by.get(o["name"].lower())
        if n is None:
            return f"Provided Schema does not match Table. Field {prefix}{o['name']} is missing in new schema"
        ot, nt = _norm_type(o.get("type", "")), _norm_type(n.get("type", ""))
        if ot != nt:
            return f"Provided Schema does not match Table. Field {prefix}{o['name']} has changed type from {ot} to {nt}"
        om, nm = (o.get("mode") or "NULLABLE").upper(), (n.get("mode") or "NULLABLE").upper()
        if om != nm and not (om == "REQUIRED" and nm == "NULLABLE"):
            return f"Provided Schema does not match Table. Field {prefix}{o['name']} has changed mode from {om} to {nm}"
        if ot == "RECORD":
            err = _schema_change_error(o.get("fields", []), n.get("fields", []), f"{prefix}{o['name']}.")
            if err:
                return err
    old_names = {f["name"].lower() for f in old}
    for n in new:
        if n["name"].lower() not in old_names and (n.get("mode") or "NULLABLE").upper() == "REQUIRED" and not parent_new:
            return f"Provided Schema does not match Table. Cannot add required fields to an existing schema. (field: {prefix}{n['name']})"
    return None


def _parse_ts(v: str) -> datetime | None:
    """BigQuery accepts up to 12 fractional digits and 'Z', '+hh:mm' or ' UTC'; Python wants 6."""
    s = v.strip().replace("/", "-").replace("Z", "+00:00").replace("z", "+00:00").replace(" UTC", "+00:00")
    s = re.sub(r"\.(\d{1,12})", lambda m: "." + m.group(1)[:6].ljust(6, "0"), s)
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        return None
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=timezone.utc)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class FakeBigQueryAPI:
    """Start with `with FakeBigQueryAPI() as fake:`; point the client at `fake.endpoint`."""

    def __init__(self, project: str = "test-project") -> None:
        self.project = project
        self.datasets: dict[tuple[str, str], dict[str, Any]] = {}
        self.tables: dict[tuple[str, str, str], _Table] = {}
        self.requests: list[Request] = []
        self.fail_next: list[tuple[int, str]] = []  # (HTTP code, reason) answered before handling
        self.lose_responses = 0  # insertAll requests to store, then answer with a closed connection
        self.lost_responses = 0  # how many answers were lost so far
        self.jobs: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()
        from ._fake_bigquery_load import LoadJobs

        self.load = LoadJobs(self)  # load jobs; `load.lose_responses`: run a job, lose its answer
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, port: int = 0) -> str:
        """Serve on 127.0.0.1:`port` (0: a free port); again after `stop()` to come back."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _body(self) -> bytes:
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    parts = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline().strip():  # trailers
                                pass
                            return b"".join(parts)
                        parts.append(self.rfile.read(size))
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _handle(self) -> None:
                raw = self._body()
                if self.headers.get("Content-Encoding") == "gzip":
                    import gzip

                    raw = gzip.decompress(raw)
                answer = fake.answer(self.command, self.path, raw, dict(self.headers))
                if fake._take_lost_response(self.command, self.path, answer):
                    self.close_connection = True  # stored, but the client never hears of it
                    return
                payload = json.dumps(answer.body).encode() if answer.body is not None else b""
                self.send_response(answer.code)
                for k, v in answer.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self.endpoint

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeBigQueryAPI:  # noqa: PYI034 - final in practice; Self needs 3.11
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        assert self._server is not None, "start() first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def client(self, project: str | None = None) -> Any:
        """A real google-cloud-bigquery Client pointed at this fake, with anonymous credentials."""
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import bigquery

        return bigquery.Client(project=project or self.project, credentials=AnonymousCredentials(),
                               client_options=ClientOptions(api_endpoint=self.endpoint))

    def _take_lost_response(self, method: str, path: str, answer: Any) -> bool:
        with self._lock:
            if method not in ("POST", "PUT"):
                return False
            p = path.split("?")[0]
            if p.endswith("/insertAll") and self.lose_responses > 0:
                self.lose_responses -= 1
            elif (p.startswith("/upload/") and self.load.lose_responses > 0 and answer.code == 200
                    and isinstance(answer.body, dict) and answer.body.get("kind") == "bigquery#job"):
                self.load.lose_responses -= 1  # the load job ran; its answer never arrives
            else:
                return False
            self.lost_responses += 1
            return True

    # -- inspection for tests --------------------------------------------------------------
    def add_dataset(self, dataset: str, project: str | None = None) -> None:
        p = project or self.project
        self.datasets[(p, dataset)] = {"datasetReference": {"projectId": p, "datasetId": dataset},
                                       "id": f"{p}:{dataset}", "kind": "bigquery#dataset"}

    def rows(self, dataset: str, table: str, project: str | None = None) -> list[dict[str, Any]]:
        return list(self.tables[(project or self.project, dataset, table)].rows)

    def table(self, dataset: str, table: str, project: str | None = None) -> dict[str, Any] | None:
        t = self.tables.get((project or self.project, dataset, table))
        return None if t is None else t.resource

    def calls(self, method: str | None = None, suffix: str | None = None) -> list[Request]:
        return [r for r in self.requests
                if (method is None or r.method == method) and (suffix is None or r.path.endswith(suffix))]

    # -- the API ---------------------------------------------------------------------------
    def handle(self, method: str, raw_path: str, raw: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        """Answer one request: (HTTP status, JSON body)."""
        answer = self.answer(method, raw_path, raw, headers)
        return answer.code, answer.body

    def answer(self, method: str, raw_path: str, raw: bytes, headers: dict[str, str]) -> Any:
        """Answer one request: an `Answer` (status, JSON body, headers)."""
        from ._fake_bigquery_load import Answer

        url = urlparse(raw_path)
        upload = url.path.startswith("/upload/")
        body: Any = None
        if raw and not upload:
            try:
                body = json.loads(raw, parse_constant=_no_constant)
            except ValueError:
                return Answer(400, ApiError(400, "parseError", "Parse error: the request is not JSON").body())
        with self._lock:
            self.requests.append(Request(method, url.path, parse_qs(url.query), body, len(raw), headers))
            if self.fail_next:
                code, reason = self.fail_next.pop(0)
                return Answer(code, ApiError(code, reason, f"injected failure: {reason}").body())
            try:
                if len(raw) > MAX_REQUEST_BYTES and not upload:
                    raise ApiError(413, "invalid", "Request payload size exceeds the limit: 10485760 bytes.")
                self._query_args = parse_qs(url.query)
                if upload:
                    parts = [p for p in url.path.split("/") if p]
                    if parts[:5] != ["upload", "bigquery", "v2", "projects", parts[4] if len(parts) > 4 else ""] \
                            or parts[5:] != ["jobs"]:
                        raise ApiError(404, "notFound", f"Not found: URL {url.path}")
                    return self.load.upload(method, parts[4], self._query_args, raw, headers)
                code, out = self._route(method, url.path, body or {}, headers)
                return Answer(code, out)
            except ApiError as exc:
                return Answer(exc.code, exc.body())
            except Exception as exc:  # noqa: BLE001 - a fake's own bug answers as a server error does
                return Answer(500, ApiError(500, "internalError", f"fake: {type(exc).__name__}: {exc}").body())

    def _route(self, method: str, path: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
        parts = [p for p in path.split("/") if p]
        if parts[:2] == ["bigquery", "v2"]:
            parts = parts[2:]
        if len(parts) < 2 or parts[0] != "projects":
            raise ApiError(404, "notFound", f"Not found: URL {path}")
        project = parts[1]
        rest = parts[2:]
        if rest == ["jobs"] and method == "POST":
            return 200, self._insert_job(project, body)
        if len(rest) == 2 and rest[0] == "jobs" and method == "GET":
            return 200, self._job(project, rest[1])
        if len(rest) == 2 and rest[0] == "queries" and method == "GET":
            from ._fake_bigquery_jobs import result_page

            job = self._job(project, rest[1], internal=True)
            if "errorResult" in job["status"]:
                err = job["status"]["errorResult"]
                raise ApiError(400, err["reason"], err["message"])
            q = self._query_args
            return 200, result_page(job, int(q.get("startIndex", ["0"])[0]) if not q.get("pageToken") else
                                    int(q["pageToken"][0]),
                                    int(q["maxResults"][0]) if q.get("maxResults") else None,
                                    q.get("formatOptions.useInt64Timestamp", ["false"])[0].lower() == "true")
        if rest == ["datasets"] and method == "POST":
            ds = body.get("datasetReference", {}).get("datasetId", "")
            if (project, ds) in self.datasets:
                raise ApiError(409, "duplicate", f"Already Exists: Dataset {project}:{ds}")
            self.add_dataset(ds, project)
            return 200, self.datasets[(project, ds)]
        if len(rest) >= 2 and rest[0] == "datasets":
            ds = rest[1]
            if (project, ds) not in self.datasets:
                raise ApiError(404, "notFound", f"Not found: Dataset {project}:{ds}")
            if len(rest) == 2 and method == "GET":
                return 200, self.datasets[(project, ds)]
            if rest[2:] == ["tables"] and method == "POST":
                return 200, self._create_table(project, ds, body)
            if len(rest) >= 4 and rest[2] == "tables":
                key = (project, ds, rest[3])
                t = self.tables.get(key)
                if t is None:
                    raise ApiError(404, "notFound", f"Not found: Table {project}:{ds}.{rest[3]}")
                if len(rest) == 4:
                    if method == "GET":
                        return 200, t.resource
                    if method in ("PATCH", "PUT"):
                        return 200, self._update_table(t, body, headers, replace=method == "PUT")
                    if method == "DELETE":
                        del self.tables[key]
                        return 204, None
                if rest[4:] == ["insertAll"] and method == "POST":
                    return 200, self._insert_all(t, body)
                if rest[4:] == ["data"] and method == "GET":
                    return 200, self._list_rows(t)
        raise ApiError(404, "notFound", f"Not found: URL {path}")

    def _insert_job(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        """jobs.insert for a query: run it (or, for a dry run, only size it) and keep the result."""
        import uuid

        from ._fake_bigquery_jobs import JobError, QueryEngine

        config = body.get("configuration") or {}
        if "load" in config:
            raise ApiError(400, "invalid", "this stand-in loads uploaded data only (jobs.insert with "
                                           "media upload), not sourceUris")
        query = config.get("query")
        if not query:
            raise ApiError(400, "invalid", "this fake runs query and load jobs only")
        ref = dict(body.get("jobReference") or {})
        ref.setdefault("projectId", project)
        ref.setdefault("jobId", f"job_{uuid.uuid4().hex}")
        ref.setdefault("location", "US")
        dry = bool(config.get("dryRun"))
        job: dict[str, Any] = {"kind": "bigquery#job", "id": f"{project}:US.{ref['jobId']}",
                               "jobReference": ref, "configuration": config,
                               "status": {"state": "DONE"}, "statistics": {"query": {}}}
        try:
            out = QueryEngine(self.tables).run(project, query, dry)
        except JobError as exc:
            if exc.code == 404 or dry or exc.reason == "invalidQuery" and "Syntax error" in exc.message:
                raise ApiError(exc.code, exc.reason, exc.message) from None
            job["status"] = {"state": "DONE", "errorResult": {"reason": exc.reason, "message": exc.message},
                             "errors": [{"reason": exc.reason, "message": exc.message}]}
            out = {}
        stats = job["statistics"]
        stats["query"] = {k: out[k] for k in ("statementType", "totalBytesProcessed") if k in out}
        if "totalBytesProcessed" in out:
            stats["totalBytesProcessed"] = out["totalBytesProcessed"]
            stats["query"]["totalBytesBilled"] = "0" if dry else out["totalBytesProcessed"]
        if "numDmlAffectedRows" in out:
            stats["query"]["numDmlAffectedRows"] = out["numDmlAffectedRows"]
        if not dry:
            job["_result"] = out
            self.jobs[(project, ref["jobId"])] = job
        return {k: v for k, v in job.items() if not k.startswith("_")}

    def _job(self, project: str, job_id: str, internal: bool = False) -> dict[str, Any]:
        job = self.jobs.get((project, job_id))
        if job is None:
            raise ApiError(404, "notFound", f"Not found: Job {project}:{job_id}")
        return job if internal else {k: v for k, v in job.items() if not k.startswith("_")}

    def _stamp(self, resource: dict[str, Any]) -> None:
        now = str(int(time.time() * 1000))
        resource.setdefault("creationTime", now)
        resource["lastModifiedTime"] = now
        resource["etag"] = base64.b64encode(f"{id(resource)}-{time.monotonic_ns()}".encode()).decode()

    def _create_table(self, project: str, ds: str, body: dict[str, Any]) -> dict[str, Any]:
        ref = body.get("tableReference", {})
        name = ref.get("tableId", "")
        if not re.fullmatch(r"[\w-]{1,1024}", name or ""):
            raise ApiError(400, "invalid", f"Invalid table ID \"{name}\".")
        if (project, ds, name) in self.tables:
            raise ApiError(409, "duplicate", f"Already Exists: Table {project}:{ds}.{name}")
        fields = body.get("schema", {}).get("fields", [])
        _check_schema(fields)
        names = {f["name"] for f in fields}
        tp = body.get("timePartitioning")
        if tp and tp.get("field") and tp["field"] not in names:
            raise ApiError(400, "invalid", "The field specified for time partitioning can only be of type TIMESTAMP, DATE or DATETIME. The type found is: NULL")
        for c in (body.get("clustering") or {}).get("fields", []):
            if c not in names:
                raise ApiError(400, "invalid", f"The field specified for clustering cannot be found in the schema. Invalid field: {c}.")
        resource = json.loads(json.dumps(body))
        resource.update({"kind": "bigquery#table", "id": f"{project}:{ds}.{name}", "type": "TABLE",
                         "numRows": "0", "numBytes": "0", "location": "US"})
        resource["tableReference"] = {"projectId": project, "datasetId": ds, "tableId": name}
        self._stamp(resource)
        self.tables[(project, ds, name)] = _Table(resource)
        return resource

    def _update_table(self, t: _Table, body: dict[str, Any], headers: dict[str, str], replace: bool) -> dict[str, Any]:
        etag = headers.get("If-Match")
        if etag and etag != t.resource.get("etag"):
            raise ApiError(412, "conditionNotMet", "Precondition check failed.")
        if "schema" in body:
            new_fields = (body.get("schema") or {}).get("fields", [])
            _check_schema(new_fields)
            err = _schema_change_error(t.resource["schema"]["fields"], new_fields)
            if err:
                raise ApiError(400, "invalid", err)
        if body.get("timePartitioning"):
            old = t.resource.get("timePartitioning") or {}
            new = body["timePartitioning"]
            if (old.get("type"), old.get("field")) != (new.get("type"), new.get("field")):
                raise ApiError(400, "invalid", "Cannot change partitioning spec for a partitioned table.")
        for key, value in body.items():
            if key in ("tableReference", "id", "kind", "etag", "creationTime", "lastModifiedTime", "type"):
                continue
            if value is None:
                t.resource.pop(key, None)
            else:
                t.resource[key] = value
        self._stamp(t.resource)
        return t.resource

    def _insert_all(self, t: _Table, body: dict[str, Any]) -> dict[str, Any]:
        rows = body.get("rows", [])
        if len(rows) > MAX_ROWS:
            raise ApiError(400, "invalid", f"too many rows present in the request, limit: {MAX_ROWS} row count: {len(rows)}.")
        judge = table_rules(t, load=False)
        ignore_unknown = bool(body.get("ignoreUnknownValues"))
        errors: dict[int, str] = {}
        stored: dict[int, Any] = {}
        for i, r in enumerate(rows):
            row = r.get("json") if isinstance(r, dict) else None
            err, value = judge(row, ignore_unknown)
            if err is not None:
                errors[i] = err
            else:
                stored[i] = value
        insert_errors = []
        if errors and not body.get("skipInvalidRows"):
            for i in range(len(rows)):
                if i in errors:
                    insert_errors.append({"index": i, "errors": [
                        {"reason": "invalid", "location": "", "debugInfo": "", "message": errors[i]}]})
                else:
                    insert_errors.append({"index": i, "errors": [
                        {"reason": "stopped", "location": "", "debugInfo": "", "message": ""}]})
            return {"kind": "bigquery#tableDataInsertAllResponse", "insertErrors": insert_errors}
        for i, r in enumerate(rows):
            if i in errors:
                insert_errors.append({"index": i, "errors": [
                    {"reason": "invalid", "location": "", "debugInfo": "", "message": errors[i]}]})
                continue
            iid = r.get("insertId")
            if iid:
                if iid in t.insert_ids:
                    continue
                t.insert_ids.add(iid)
            t.rows.append(stored[i])
        t.resource["numRows"] = str(len(t.rows))
        out: dict[str, Any] = {"kind": "bigquery#tableDataInsertAllResponse"}
        if insert_errors:
            out["insertErrors"] = insert_errors
        return out

    def _list_rows(self, t: _Table) -> dict[str, Any]:
        fields = t.resource["schema"]["fields"]

        def cell(f: dict[str, Any], v: Any) -> Any:
            if (f.get("mode") or "").upper() == "REPEATED":
                return [{"v": one(f, x)} for x in v or []]  # BigQuery stores no NULL arrays
            if v is None:
                return None
            return one(f, v)

        def one(f: dict[str, Any], v: Any) -> Any:
            t_ = _norm_type(f.get("type", ""))
            if t_ == "RECORD":
                return {"f": [{"v": cell(c, v.get(c["name"]))} for c in f.get("fields", [])]}
            if t_ == "JSON":
                return json.dumps(v)
            if t_ == "TIMESTAMP" and isinstance(v, str):
                dt = _parse_ts(v)
                return None if dt is None else str(int(dt.timestamp() * 1_000_000))
            if isinstance(v, bool):
                return "true" if v else "false"
            return str(v)

        rows = [{"f": [{"v": cell(f, r.get(f["name"]))} for f in fields]} for r in t.rows]
        return {"kind": "bigquery#tableDataList", "totalRows": str(len(rows)), "rows": rows}
