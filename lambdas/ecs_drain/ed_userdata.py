"""Which ECS cluster an instance's user data puts it in.

The ECS agent reads ``/etc/ecs/ecs.config``; user data usually writes ``ECS_CLUSTER=<name>``
into it (``echo ECS_CLUSTER=x >> /etc/ecs/ecs.config``, a heredoc, cloud-config
``write_files``). User data comes base64-encoded from DescribeInstanceAttribute and may be
gzip-compressed or MIME multi-part (cloud-init accepts both), so all three are unwrapped.

A value that is not a valid cluster name (an unexpanded Terraform ``${...}``, a shell ``$VAR``,
an empty string) is discarded rather than guessed at: the caller then tries the instance tag.
The last assignment wins, as it does in the env file the agent reads; a commented line never counts.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import gzip
import re
import zlib
from dataclasses import dataclass

# ECS cluster names: up to 255 letters, numbers, hyphens and underscores (CreateCluster).
CLUSTER_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
# `ECS_CLUSTER=` not preceded by a name character (so MY_ECS_CLUSTER= is not it), then a
# double-quoted, single-quoted or bare value (a bare one stops at space, quote, `>;|&`).
_ASSIGN = re.compile(r"""(?<![A-Za-z0-9_])ECS_CLUSTER=("[^"\n]*"|'[^'\n]*'|[^\s"'>;|&]*)""")
MAX_USER_DATA = 64 * 1024  # EC2's limit is 16 KB raw; anything far bigger is not user data


@dataclass(frozen=True)
class UserDataCluster:
    """The cluster named in user data, or why none was taken (for the log line)."""

    cluster: str | None
    reason: str  # found | no_user_data | not_base64 | not_text | no_ecs_cluster | unexpanded | invalid_name
    raw_value: str | None = None


def decode_user_data(value: str | None) -> tuple[str | None, str]:
    """base64 (as EC2 returns it) -> text, unwrapping gzip; (None, reason) if it cannot be read."""
    if not value:
        return None, "no_user_data"
    if len(value) > MAX_USER_DATA * 2:
        return None, "not_base64"
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None, "not_base64"
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)[:MAX_USER_DATA * 4]
        except (OSError, EOFError, zlib.error):
            return None, "not_text"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, "not_text"
    if "\x00" in text:
        return None, "not_text"
    return text, "ok"


def _texts(text: str) -> list[str]:
    """The text parts of a MIME multi-part document, or the text itself."""
    head = text.lstrip()[:1024].lower()
    if not head.startswith(("content-type:", "mime-version:")) or "multipart" not in head:
        return [text]
    try:
        msg = email.message_from_string(text, policy=email.policy.compat32)
    except Exception:  # noqa: BLE001 - malformed MIME is just text then
        return [text]
    out = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            out.append(payload.decode("utf-8", errors="replace"))
    return out or [text]


def _strip_comment(line: str) -> str:
    """Drop a shell/YAML comment: a `#` at the start or after whitespace, outside quotes."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def last_assignment(text: str) -> str | None:
    """The value of the last uncommented ``ECS_CLUSTER=`` assignment, quotes removed."""
    found = None
    for part in _texts(text):
        for line in part.splitlines():
            for m in _ASSIGN.finditer(_strip_comment(line)):
                v = m.group(1)
                if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
                    v = v[1:-1]
                found = v.strip()
    return found


def cluster_from_user_data(value: str | None) -> UserDataCluster:
    """Base64 user data as DescribeInstanceAttribute returns it -> the cluster it configures."""
    text, why = decode_user_data(value)
    if text is None:
        return UserDataCluster(None, why)
    v = last_assignment(text)
    if v is None:
        return UserDataCluster(None, "no_ecs_cluster")
    if "${" in v or "$" in v:
        return UserDataCluster(None, "unexpanded", v[:300])
    if not CLUSTER_NAME.fullmatch(v):
        return UserDataCluster(None, "invalid_name", v[:300])
    return UserDataCluster(v, "found", v)
