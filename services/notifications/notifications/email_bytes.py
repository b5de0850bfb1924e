"""An e-mail written straight to the bytes SMTP sends: the bytes `EmailMessage` (default policy) would write for
it, at a fraction of the CPU.

`EmailMessage` parses every header value it is given into a tree and folds the tree back out when the message
is flattened. For a value of printable ASCII words with single spaces, no `=?` and short enough for one line
(our Date, Message-ID and, mostly, To and Subject) that round trip gives the value back unchanged, so such a line
is written as it is, and a longer one of an unstructured header (Subject, X-…) is wrapped at its spaces as the
policy wraps it; any other value (not ASCII, odd spacing, a long address) is folded by the same policy, as before.
A text part gets the transfer encoding `set_content` would choose. tests/test_notifications_email_bytes.py
compares these bytes with `EmailMessage`'s.
"""
from __future__ import annotations

import binascii
import random
import re
import sys
from email import headerregistry, policy, quoprimime
from functools import lru_cache

SMTP = policy.SMTP  # the default policy with CRLF lines: what smtplib flattens an EmailMessage with
MAX_LINE = SMTP.max_line_length  # 78
_AS_IT_IS = re.compile(r"[!-~]+(?: [!-~]+)*")  # printable ASCII words, single spaces


def header(name: str, value: str) -> str:
    """The header's line(s) as the default policy writes them, CRLF ended. For an address header, `value` is
    as `formataddr` writes it (a raw one with, say, an unbalanced quote would be written as it is)."""
    if "=?" not in value and _AS_IT_IS.fullmatch(value):
        if len(name) + 2 + len(value) <= MAX_LINE:
            return f"{name}: {value}\r\n"
        if _unstructured(name):
            lines = _wrapped(name, value)
            if lines is not None:
                return lines
    return folded(name, value)


def _wrapped(name: str, value: str) -> str | None:
    """A long unstructured value of words as the policy folds it: on a line of its own if it fits there, else
    word by word, each line as full as it can be; None if a word is too long for a line."""
    if len(value) + 1 <= MAX_LINE:
        return f"{name}:\r\n {value}\r\n"
    first, *words = value.split(" ")
    lines = [f"{name}: {first}"]
    if len(lines[0]) > MAX_LINE:
        return None
    for word in words:
        if len(lines[-1]) + 1 + len(word) <= MAX_LINE:
            lines[-1] += f" {word}"
        elif len(word) + 1 <= MAX_LINE:
            lines.append(f" {word}")
        else:
            return None
    return "\r\n".join(lines) + "\r\n"


@lru_cache(maxsize=None)
def _unstructured(name: str) -> bool:
    return issubclass(SMTP.header_factory[name], headerregistry.UnstructuredHeader)


def folded(name: str, value: str) -> str:
    """The header's line(s) as the default policy parses and folds them, CRLF ended."""
    return SMTP.header_factory(name, value).fold(policy=SMTP)


def encoded_text(text: str) -> tuple[str, bytes]:
    """(Content-Transfer-Encoding, body with CRLF lines) of a UTF-8 text part, as `set_content(text)` chooses:
    7bit or 8bit while every line fits in 78 octets, else quoted-printable or base64, whichever is shorter
    on the first ten lines (email.contentmanager's heuristic, on the default policy's LF lines)."""
    lines = text.encode("utf-8").splitlines()
    if max((len(line) for line in lines), default=0) <= MAX_LINE:
        return ("7bit" if text.isascii() else "8bit"), b"\r\n".join(lines) + b"\r\n"
    sniff = b"\n".join(lines[:10]) + b"\n"
    sniff_qp = quoprimime.body_encode(sniff.decode("latin-1"), MAX_LINE)
    if len(sniff_qp) > len(binascii.b2a_base64(sniff)):
        data = b"\n".join(lines) + b"\n"
        per_line = MAX_LINE // 4 * 3
        encoded = "".join(binascii.b2a_base64(data[i:i + per_line]).decode("ascii")
                          for i in range(0, len(data), per_line))
        return "base64", _crlf(encoded)
    if len(lines) > 10:
        sniff_qp = quoprimime.body_encode((b"\n".join(lines) + b"\n").decode("latin-1"), MAX_LINE)
    return "quoted-printable", _crlf(sniff_qp)


def _crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("ascii")


def new_boundary(parts: bytes) -> str:
    """A multipart boundary in the form email.generator makes them, found in none of the parts."""
    while True:
        boundary = f"{'=' * 15}{random.randrange(sys.maxsize):019d}=="
        if boundary.encode("ascii") not in parts:
            return boundary


def text_email(headers: str, text: str) -> bytes:
    """A text/plain e-mail: `headers` (CRLF-ended lines) and the text."""
    cte, body = encoded_text(text)
    return (f'{headers}Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: {cte}\r\n'
            f"MIME-Version: 1.0\r\n\r\n").encode("ascii") + body


def text_email_with_calendar(headers: str, text: str, calendar: str, method: str) -> bytes:
    """multipart/mixed: the text, then the calendar file attached as text (so it stays readable, CRLF lines on
    the wire); each part's headers in the order `EmailMessage.add_attachment` leaves them."""
    text_cte, body = encoded_text(text)
    calendar_cte, attachment = encoded_text(calendar)
    first = (f'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: {text_cte}\r\n'
             f"\r\n").encode("ascii") + body
    second = (f"Content-Transfer-Encoding: {calendar_cte}\r\n"
              f'Content-Disposition: attachment; filename="appointment.ics"\r\n'
              f'Content-Type: text/calendar; charset="utf-8"; method="{method}"\r\n'
              f"MIME-Version: 1.0\r\n\r\n").encode("ascii") + attachment
    boundary = new_boundary(first + second).encode("ascii")
    return b"".join((f"{headers}MIME-Version: 1.0\r\n".encode("ascii"),
                     b'Content-Type: multipart/mixed; boundary="', boundary, b'"\r\n\r\n',
                     b"--", boundary, b"\r\n", first,
                     b"\r\n--", boundary, b"\r\n", second,
                     b"\r\n--", boundary, b"--\r\n"))
