"""Which keys are secrets, and credentials inside URL strings.

**Keys.** A key is split into words whatever its spelling - camelCase, PascalCase, kebab-case,
snake_case, SCREAMING_CASE, `HTTP_` environ names: `accessToken`, `access-token`,
`ACCESS_TOKEN` and `HTTP_X_ACCESS_TOKEN` are all (..., access, token) - and it is a secret when
its words end with the words of a listed key (`db_password`, `X-Api-Key`, `aws_secret_access_key`,
`csrf_token`, `Set-Cookie`), or when its last words run together are a listed key run together
(`apikey`, `sessionid`, `accesstoken`), or when its last word ends with a listed key of five
letters or more (`csrftoken`, `xsrftoken`). `passwords_tried`, `token_count`, `cache_key`,
`author` are not secrets. The answer per key is cached (bounded: hostile key names cannot grow
the cache).

**URLs.** In a string that contains "://", the password of a URL's user info (`https://u:pw@h`,
`postgres://u:pw@h/db`, `redis://:pw@h`), a user info without a password that is 20 characters
or longer (an access token used as the user name: `https://ghp_...@github.com`), and the values
of query or fragment parameters whose names are secrets (`?token=...`, `#access_token=...`,
`X-Amz-Signature=...`) become "[REDACTED]". Strings without "://" are not looked at (one C
substring search), so the cost is paid only by strings that hold a URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ._constants import REDACTED

_CACHE_LIMIT = 4096

# The default list: passwords, tokens and keys as apps, HTTP, AWS, GCP and Azure name them;
# each entry also catches its prefixed forms (x_api_key, aws_session_token, client_secret).
DEFAULT_REDACT_KEYS: frozenset[str] = frozenset({
    # passwords
    "password", "passwd", "pwd", "passphrase",
    # secrets, tokens, keys
    "secret", "token", "api_key", "apikey", "access_key", "secret_key", "private_key",
    "signing_key", "encryption_key", "master_key", "account_key", "jwt", "bearer",
    "signature", "credential", "credentials", "connection_string",
    # HTTP: headers and WSGI environ names (HTTP_AUTHORIZATION, HTTP_COOKIE)
    "authorization", "auth", "cookie", "set_cookie", "session", "sessionid", "session_id",
    "session_key", "csrf", "xsrf",
    # card data (PCI DSS: never stored in logs)
    "card_number", "cvv", "cvc",
})

# Words of a key: acronyms before a capitalised word (API|Key), capitalised or lower-case words
# with trailing digits (oauth2|Token), upper-case runs, bare numbers; anything else separates.
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+[0-9]*|[A-Z]+[0-9]*|[0-9]+")
_IN_WORD_MIN = 5  # a listed key this long also matches at the end of a single word

# scheme://userinfo@ (greedy up to the authority's last "@": a password may hold one)
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)([^/?#\s@]*(?:@[^/?#\s@]*)*)@")
# ?name=value, &name=value, ;name=value, #name=value
_PARAM = re.compile(r"([?&;#])([^=&;#\s]+)=([^&;#\s]*)")
_LONG_USER = 20
# The same two patterns on an encoded JSON line (the fast path's look at a record that has an
# "@" or an "="). They may match more than `scrub` would (across a JSON string's quotes, over
# a JSON escape, over non-ASCII spaces): that only sends a record to the slow path, which
# scrubs exactly. They must never match less: a character JSON escapes (a quote, a backslash,
# a control character) inside a password must not hide it.
_USERINFO_B = re.compile(rb"[A-Za-z][A-Za-z0-9+.-]*://([^/?#\s@]*(?:@[^/?#\s@]*)*)@")
_PARAM_B = re.compile(rb"[?&;#]([^=&;#\s]+)=([^&;#\s]*)")


def key_words(key: str) -> tuple[str, ...]:
    """`key` as lower-case words: "X-Api-Key" -> ("x", "api", "key")."""
    return tuple(w.lower() for w in _WORD.findall(key))


class Redactor:
    """`redactor(key)`: True when the value under `key` must be replaced by "[REDACTED]";
    `redactor.scrub(text)`: `text` with the credentials of its URLs replaced, or None when
    there are none."""

    def __init__(self, keys: Iterable[str]) -> None:
        entries = {key_words(k) for k in keys}
        entries.discard(())
        self.keys = frozenset("_".join(e) for e in entries)
        self._phrases = self.keys
        self._squashed = frozenset("".join(e) for e in entries)
        self._in_word = tuple(sorted(s for s in self._squashed if len(s) >= _IN_WORD_MIN))
        self._cache: dict[str, bool] = {}

    def __call__(self, key: str) -> bool:
        hit = self._cache.get(key)
        if hit is None:
            hit = self._match(key) if type(key) is str else self._match(str(key))
            if len(self._cache) < _CACHE_LIMIT:
                self._cache[key] = hit
        return hit

    def _match(self, key: str) -> bool:
        words = key_words(key)
        if not words or not self.keys:
            return False
        for i in range(len(words)):
            tail = words[i:]
            if "_".join(tail) in self._phrases or "".join(tail) in self._squashed:
                return True
        return words[-1].endswith(self._in_word) if self._in_word else False

    def scrub(self, text: str) -> str | None:
        """`text` with URL credentials replaced, or None when it has none (the common case:
        no "://" in it, one substring search)."""
        if "://" not in text:
            return None
        out = _USERINFO.sub(self._userinfo, text)
        if "=" in out and self.keys:
            out = _PARAM.sub(self._param, out)
        return out if out != text else None

    def line_has_credentials(self, line: bytes) -> bool:
        """Whether an encoded record line holds a URL that `scrub` would change: then the
        record takes the slow path, which scrubs it."""
        if b"://" not in line:
            return False
        for m in _USERINFO_B.finditer(line):
            user, colon, password = m.group(1).partition(b":")
            if (colon and password) or (not colon and len(user) >= _LONG_USER):
                return True
        if self.keys:
            for m in _PARAM_B.finditer(line):
                if m.group(2) and self(m.group(1).decode("utf-8", "replace")):
                    return True
        return False

    def _userinfo(self, m: re.Match[str]) -> str:
        scheme, info = m.group(1), m.group(2)
        user, colon, password = info.partition(":")
        if colon:
            return f"{scheme}{user}:{REDACTED}@" if password else m.group(0)
        return f"{scheme}{REDACTED}@" if len(info) >= _LONG_USER else m.group(0)

    def _param(self, m: re.Match[str]) -> str:
        if m.group(3) and self(m.group(2)):
            return f"{m.group(1)}{m.group(2)}={REDACTED}"
        return m.group(0)


NO_REDACTION = Redactor(())
