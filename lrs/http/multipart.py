"""multipart/mixed (RFC 2046) read from a stream and written as one, in bounded memory.

Attachments can be far larger than memory, so neither direction ever holds a whole part: the
reader hands out each part's body as a sequence of chunks while it scans for the next delimiter
(keeping at most one read plus one delimiter's length buffered), and the writer produces bytes
part by part from iterables, with the total length computed up front from the parts' sizes.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import BinaryIO, Callable, Iterable, Iterator, Mapping, Protocol

from lrs.errors import BadRequest, PayloadTooLarge
from lrs.http.fields import echoable, field_value

READ_SIZE = 64 * 1024
MAX_HEADER_BYTES = 16 * 1024
CRLF = b"\r\n"
# RFC 2046 5.1.1: 1 to 70 of these characters, the last not a space.
BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
BOUNDARY_RULE = ("1 to 70 of the characters 0-9 A-Z a-z ' ( ) + _ , - . / : = ? and space, "
                 "not ending in a space (RFC 2046 5.1.1)")


@dataclass
class Part:
    """One body part: its headers (names lower-cased) and its content, read once, in order."""

    headers: dict[str, str]
    _body: Iterator[bytes] = field(repr=False)

    def chunks(self) -> Iterator[bytes]:
        return self._body

    def read(self, limit: int, what: str) -> bytes:
        """The whole body, for small parts; `limit` bounds what a client can make us hold."""
        data = bytearray()
        for chunk in self._body:
            data += chunk
            if len(data) > limit:
                raise PayloadTooLarge(f"{what} is larger than {limit} bytes")
        return bytes(data)


class MultipartReader:
    """The parts of one multipart body, pulled from `stream` as the caller consumes them.

    A part's body must be consumed (or abandoned) before the next part is asked for; the reader
    skips whatever the caller left unread. The preamble before the first delimiter and the
    epilogue after the last are ignored, as RFC 2046 says.
    """

    def __init__(self, stream: BinaryIO, boundary: str):
        if BOUNDARY.fullmatch(boundary) is None:
            raise BadRequest(f"multipart boundary {boundary[:80]!r}: must be {BOUNDARY_RULE}")
        self._stream = stream
        self._delimiter = CRLF + b"--" + boundary.encode("latin-1")
        self._buffer = bytearray(CRLF)  # so the first delimiter needs no special case
        self._at_eof = False
        self._where = "multipart body"  # what an error names: the part being read, once there is one

    def parts(self) -> Iterator[Part]:
        for _ in self._until_delimiter():
            pass  # the preamble
        number = 0
        while not self._closing_delimiter():
            number += 1
            self._where = f"multipart part {number}"
            headers = self._headers(number)
            body = self._until_delimiter()
            yield Part(headers, body)
            for _ in body:
                pass  # whatever the caller did not read
        while self._fill():
            self._buffer.clear()  # the epilogue

    def _fill(self) -> bool:
        if self._at_eof:
            return False
        data = self._stream.read(READ_SIZE)
        if not data:
            self._at_eof = True
            return False
        self._buffer += data
        return True

    def _until_delimiter(self) -> Iterator[bytes]:
        """Yield the bytes before the next delimiter and consume the delimiter itself."""
        keep = len(self._delimiter) - 1  # a delimiter may start in the unread tail
        while True:
            found = self._buffer.find(self._delimiter)
            if found >= 0:
                if found:
                    yield bytes(self._buffer[:found])
                del self._buffer[:found + len(self._delimiter)]
                return
            if len(self._buffer) > keep:
                yield bytes(self._buffer[:-keep])
                del self._buffer[:-keep]
            if not self._fill():
                raise BadRequest(f"{self._where}: the request ended before the closing boundary "
                                 "(--boundary-- after a CRLF, RFC 2046)")

    def _need(self, count: int) -> None:
        while len(self._buffer) < count:
            if not self._fill():
                raise BadRequest(f"{self._where}: the request ended before the closing boundary")

    def _closing_delimiter(self) -> bool:
        """After a delimiter: `--` ends the body; otherwise optional padding and a CRLF start a part.
        A body whose lines end with LF alone is told so here, at its first boundary line: its
        other delimiters (CRLF--boundary) are never found, and "ended before its closing boundary"
        would not say why."""
        self._need(2)
        if self._buffer[:2] == b"--":
            return True
        end = self._buffer.find(b"\n")
        while end < 0 and len(self._buffer) <= MAX_HEADER_BYTES:
            self._need(len(self._buffer) + 1)
            end = self._buffer.find(b"\n")
        if end >= 0 and self._buffer[end - 1:end] != b"\r":
            raise BadRequest("multipart body: a boundary line ends with LF alone; the lines that frame "
                             "parts end with CRLF (RFC 2046)")
        if end < 0 or self._buffer[:end - 1].strip(b" \t"):
            raise BadRequest("multipart body: a boundary line must end with CRLF")
        del self._buffer[:end + 1]
        return False

    def _headers(self, number: int) -> dict[str, str]:
        """The part's header block, up to the empty line (an empty block is allowed)."""
        self._need(2)
        end = 0 if self._buffer[:2] == CRLF else self._buffer.find(CRLF + CRLF)
        while end < 0 and len(self._buffer) <= MAX_HEADER_BYTES:
            self._need(len(self._buffer) + 1)
            end = self._buffer.find(CRLF + CRLF)
        if end < 0 or end > MAX_HEADER_BYTES:
            raise BadRequest(f"multipart part {number}: its headers exceed {MAX_HEADER_BYTES} bytes "
                             "(or do not end with an empty line)")
        block = bytes(self._buffer[:end])
        del self._buffer[:end + (4 if end else 2)]
        return _parse_headers(block, number)


def _parse_headers(block: bytes, number: int) -> dict[str, str]:
    """Lines end with CRLF only: a bare CR or LF would split a header for lenient readers of the
    part headers the LRS echoes (GET ?attachments=true), so a value must be a plain field value.
    A header given twice is refused: readers differ on which of its values counts (the first or
    the last), so a proxy could check one hash or content type and the LRS act on the other."""
    headers: dict[str, str] = {}
    name = None
    for line in block.decode("latin-1").split("\r\n"):
        field_value(line, f"multipart part {number} header line")
        if not line:
            continue
        if line[0] in " \t" and name:  # a folded continuation line
            headers[name] += " " + line.strip()
            continue
        name, colon, value = line.partition(":")
        name = name.strip().lower()
        if not colon or not name:
            raise BadRequest(f"multipart part {number}: malformed header line {line[:80]!r} "
                             "(a header is a name, a colon and a value)")
        if name in headers:
            raise BadRequest(f"multipart part {number}: the {name} header is given twice; "
                             "a part gives each header once")
        headers[name] = value.strip()
    return headers


@dataclass(frozen=True)
class OutPart:
    """A part to write: headers, the exact content length, and how to produce the content."""

    headers: dict[str, str]
    length: int
    content: Callable[[], Iterable[bytes]]


class Content(Protocol):
    """An attachment content to send (`lrs.store.attachments.StoredContent` is one)."""

    length: int

    def chunks(self) -> Iterable[bytes]: ...


def attachment_parts(attachments: Iterable[dict], contents: Mapping[str, Content]) -> list[OutPart]:
    """The parts that send `contents` (by lower-case sha2) for these attachment objects: one per
    distinct sha2 and contentType *as the attachments write them*. Communication 1.5.2 wants a
    part's X-Experience-API-Hash and Content-Type to match the attachment's sha2 and contentType,
    and clients look parts up by that exact text (TinCanJS keys them by the header's string), while
    the store keeps one content per digest, whatever case or type the statements declare it with."""
    heads: dict[tuple[str, str], Content] = {}
    for attachment in attachments:
        sha2 = attachment.get("sha2")
        content = contents.get(sha2.lower()) if isinstance(sha2, str) else None
        if content is not None:
            heads.setdefault((sha2, str(attachment.get("contentType", ""))), content)
    return [OutPart({"Content-Type": echoable(content_type, "application/octet-stream"),
                     "Content-Transfer-Encoding": "binary", "X-Experience-API-Hash": sha2},
                    content.length, content.chunks)
            for (sha2, content_type), content in heads.items()]


class MultipartWriter:
    """A multipart/mixed body whose Content-Length is known before the first byte is sent."""

    def __init__(self, parts: list[OutPart]):
        self.boundary = secrets.token_hex(16)
        self._parts = parts
        self._heads = [self._head(part.headers, first=index == 0) for index, part in enumerate(parts)]
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()

    @property
    def content_type(self) -> str:
        return f"multipart/mixed; boundary={self.boundary}"

    @property
    def length(self) -> int:
        return sum(len(head) + part.length for head, part in zip(self._heads, self._parts, strict=True)) + len(self._tail)

    def __iter__(self) -> Iterator[bytes]:
        for head, part in zip(self._heads, self._parts, strict=True):
            yield head
            yield from part.content()
        yield self._tail

    def _head(self, headers: dict[str, str], first: bool) -> bytes:
        lines = [f"--{self.boundary}", *(f"{name}: {value}" for name, value in headers.items()), "", ""]
        return (("" if first else "\r\n") + "\r\n".join(lines)).encode("latin-1")
