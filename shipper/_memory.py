"""A process's own peak memory, for the summaries of `shipper load`.

Not `ru_maxrss` alone: Linux carries a process's largest RSS across exec (the old image's
high-water mark is kept in the process's accounting), so a loader started by a large parent
(a bench holding a BigQuery stand-in, a CI runner) reported the parent's size as its own.
VmHWM in /proc/self/status is the high-water mark of this process image only.
"""

from __future__ import annotations

import re
import sys

_VMHWM = re.compile(rb"^VmHWM:\s+(\d+) kB", re.MULTILINE)


def peak_rss_kib() -> int:
    """This process image's peak resident memory in KiB; 0 where it cannot be known."""
    try:
        with open("/proc/self/status", "rb") as f:
            m = _VMHWM.search(f.read())
        if m:
            return int(m[1])
    except OSError:
        pass
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS, KiB elsewhere
