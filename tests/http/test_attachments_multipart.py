"""The streaming multipart/mixed reader and writer on their own: framing edge cases, bounded reads."""
from __future__ import annotations

import io
import random

import pytest

from lrs.errors import BadRequest, PayloadTooLarge
from lrs.http.multipart import MAX_HEADER_BYTES, MultipartReader, MultipartWriter, OutPart


class Trickle(io.RawIOBase):
    """A stream that hands out at most `size` bytes per read, as a slow socket does."""

    def __init__(self, data: bytes, size: int):
        self.data, self.size, self.reads = data, size, 0

    def read(self, n: int = -1) -> bytes:
        self.reads += 1
        chunk, self.data = self.data[:min(n, self.size)], self.data[min(n, self.size):]
        return chunk


def read_all(body: bytes, boundary: str = "b0und", size: int = 1 << 16) -> list[tuple[dict, bytes]]:
    return [(part.headers, b"".join(part.chunks())) for part in MultipartReader(Trickle(body, size), boundary).parts()]


BODY = (b"preamble text\r\n--b0und\r\nContent-Type: application/json\r\n\r\n{}\r\n"
        b"--b0und  \r\nX-Experience-API-Hash: abc\r\nX-Long: one\r\n two\r\n\r\n\r\n--b0un!\r\n"
        b"--b0und\r\n\r\n\r\n--b0und--\r\nepilogue")


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 1 << 16])
def test_parts_are_found_whatever_the_read_sizes(size):
    assert read_all(BODY, size=size) == [
        ({"content-type": "application/json"}, b"{}"),
        ({"x-experience-api-hash": "abc", "x-long": "one two"}, b"\r\n--b0un!"),
        ({}, b""),
    ]


def test_a_part_left_unread_is_skipped():
    parts = MultipartReader(io.BytesIO(BODY), "b0und").parts()
    assert [part.headers.get("x-experience-api-hash") for part in parts] == [None, "abc", None]


def test_reading_holds_one_read_plus_a_delimiter_at_most():
    big = random.randbytes(3 * 1024 * 1024)
    body = b"--b0und\r\n\r\n" + big + b"\r\n--b0und--"
    reader = MultipartReader(io.BytesIO(body), "b0und")
    part = next(reader.parts())
    largest = max(len(chunk) for chunk in part.chunks())
    assert largest <= (1 << 16) + len("\r\n--b0und")


@pytest.mark.parametrize("body, message", [
    (b"--b0und\r\n\r\ndata", "closing boundary"),
    (b"no boundary at all", "closing boundary"),
    (b"--b0und\r\nbroken header\r\n\r\nx\r\n--b0und--", "part 1: malformed header line"),
    (b"--b0und junk\r\n\r\nx\r\n--b0und--", "must end with CRLF"),
    (b"--b0und\r\nX-Big: " + b"x" * MAX_HEADER_BYTES + b"\r\n\r\nx\r\n--b0und--", "part 1: its headers exceed"),
], ids=["no closing boundary", "no boundary", "malformed header", "junk after boundary", "huge header"])
def test_malformed_bodies_are_bad_requests(body, message):
    with pytest.raises(BadRequest, match=message):
        read_all(body)


def test_boundaries_longer_than_rfc_2046_allows_are_refused():
    with pytest.raises(BadRequest, match="1 to 70"):
        MultipartReader(io.BytesIO(b""), "x" * 71)


def test_a_part_read_whole_is_bounded():
    part = next(MultipartReader(io.BytesIO(b"--b0und\r\n\r\n" + b"x" * 100 + b"\r\n--b0und--"), "b0und").parts())
    with pytest.raises(PayloadTooLarge, match="the statements part is larger than 10 bytes"):
        part.read(10, "the statements part")


def test_the_writer_announces_its_exact_length_and_reads_back():
    contents = [b"", b"\r\n--", random.randbytes(70_000)]
    writer = MultipartWriter([OutPart({"Content-Type": "application/octet-stream", "X-N": str(n)}, len(c),
                                      lambda c=c: [c[:5], c[5:]]) for n, c in enumerate(contents)])
    body = b"".join(writer)
    assert len(body) == writer.length
    assert writer.content_type == f"multipart/mixed; boundary={writer.boundary}"
    assert [c for _, c in read_all(body, writer.boundary, size=999)] == contents
