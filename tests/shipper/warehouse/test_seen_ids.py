"""The per-run insertId store of the BigQuery writers: the same answers as a dict, memory flat
however many ids (a dict cost 171 MB per million log_ids), nothing left on disk."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.warehouse._seen_ids import SeenIds

from support import REPO

keys = st.text(st.characters(codec=None), max_size=40) | st.sampled_from(["\ud800", "a\udcff", "", "é"])
digests = st.binary(min_size=12, max_size=12)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(keys, digests), max_size=60))
def test_answers_as_a_dict_setdefault_does(pairs):
    store, model = SeenIds(), {}
    try:
        for key, digest in pairs:
            digest = bytes(bytearray(digest))  # a fresh object per row, as the writer makes them
            got = store.first(key, digest)
            want = model.setdefault(key, digest)
            assert got == want
            assert (got is digest) == (want is digest)  # new key: the caller's own object back
    finally:
        store.close()


def test_used_from_another_thread_than_the_one_that_made_it():
    store = SeenIds()
    out = []
    t = threading.Thread(target=lambda: out.append(store.first("a", b"1" * 12)))
    t.start()
    t.join()
    assert out == [b"1" * 12] and store.first("a", b"2" * 12) == b"1" * 12
    store.close()


_CHILD = """
import os, re, sys
from shipper.warehouse._seen_ids import SeenIds
def hwm():
    return int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read())[1]) // 1024
store = SeenIds()
store.first("warm", b"w" * 12)
base = hwm()
for i in range(400_000):
    store.first(f"0a1b-{i:012d}-{i * 7919 % 1000003}", i.to_bytes(12, "big"))
assert store.first("0a1b-000000000007-55433", b"x" * 12) == (7).to_bytes(12, "big")
print("GROWTH", hwm() - base, "FILES", sorted(os.listdir(sys.argv[1])))
store.close()
"""


def test_memory_stays_flat_and_nothing_is_left_in_the_temp_dir(tmp_path):
    env = {**os.environ, "SQLITE_TMPDIR": str(tmp_path), "TMPDIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path)], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    m = re.search(r"GROWTH (\d+) FILES (.*)", out.stdout)
    assert m, out.stdout
    # 400,000 ids in a dict: ~70 MB. The store: its page cache (16 MB) and little else.
    assert int(m[1]) < 30, out.stdout
    assert m[2] == "[]", out.stdout  # the spill file is unlinked as soon as SQLite opens it
    assert list(tmp_path.iterdir()) == []


def test_a_python_without_sqlite3_keeps_the_same_answers_in_memory(monkeypatch):
    monkeypatch.setitem(sys.modules, "sqlite3", None)  # `import sqlite3` raises ImportError
    store = SeenIds()
    first = b"1" * 12
    assert store.first("a", first) is first
    assert store.first("a", bytes(bytearray(first))) == first
    assert store.first("a", b"2" * 12) == first  # a conflict: the first digest back
    assert store._con is None and store._dict == {"a": first}
    store.close()
