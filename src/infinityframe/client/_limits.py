"""What a server may make the client read: the limits, and a body reader that keeps to them.

A server is trusted with nothing. Every reply is read in bounded pieces, decoded here (not by
urllib3) so that a cap counts *decoded* bytes and a gzip bomb stops at the cap instead of in
memory, and every archive is measured before a byte of it is extracted. The defaults are far
above anything a real batch sends (a real job's zip is a few MB, a batch summary a few hundred
bytes per job), so only a broken or hostile server ever meets them.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = ["Limits", "TooLarge", "UnsupportedEncoding", "read_body"]

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
#: Members smaller than this are not held to ``max_ratio`` (tiny files compress oddly well);
#: the archive as a whole still is.
RATIO_FLOOR = 1 * MiB
#: An error reply is read this far for its ``detail``; the rest is dropped, never an error itself.
ERROR_BODY_BYTES = 64 * KiB
_OUT_PIECE = 1 * MiB  # most decoded bytes one step may produce
_IN_PIECE = 64 * KiB  # raw bytes read from the socket per step


@dataclass(frozen=True)
class Limits:
    """The most a server may make the client read, unpack or wait for.

    Pass one as ``Session(..., limits=Limits(...))`` (or ``Session.local(..., limits=...)``);
    unnamed fields keep their defaults. Breaking one is a :class:`~infinityframe.ServiceError`
    (an API reply) or a :class:`~infinityframe.DownloadError` (a result), and leaves nothing
    half-written.

    Parameters
    ----------
    request_seconds : float
        Wall time of one API request, its retries and their waits included. A server that
        trickles bytes, each just inside the read timeout, is cut off here.
    download_seconds : float
        Wall time of one result file's download, retries included.
    max_json_bytes : int
        Size of one API reply after decoding (``Content-Encoding: gzip`` or ``deflate``).
    max_download_bytes : int
        Size of one result file after decoding.
    max_members : int
        Entries in one job's archive.
    max_unpacked_bytes : int
        Sum of the unpacked sizes of one job's archive.
    max_ratio : float
        Unpacked over packed size, for each member above 1 MiB and for the whole archive: a
        zip bomb's members unpack hundreds of times larger, real results about 1–6 times.
    max_redirects : int
        Redirects followed for one request.

    Examples
    --------
    >>> from infinityframe.client import Limits
    >>> patient = inf.Session.local("stickfit-v0.1.0", data_dir="data", limits=Limits(download_seconds=7200))
    >>> Limits().max_ratio
    200.0
    """

    request_seconds: float = 300.0
    download_seconds: float = 3600.0
    max_json_bytes: int = 128 * MiB
    max_download_bytes: int = 2 * GiB
    max_members: int = 10_000
    max_unpacked_bytes: int = 8 * GiB
    max_ratio: float = 200.0
    max_redirects: int = 5

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
                raise ValueError(f"Limits.{name} must be a positive number, not {value!r}.")


def size(n: float) -> str:
    """``n`` bytes for a message: ``"2 GiB"``, ``"64 KiB"``, ``"300 bytes"``."""
    for unit, scale in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{int(n)} bytes"


class TooLarge(Exception):
    """A body passed its cap (internal: the transport words the user's error)."""

    def __init__(self, cap: int) -> None:
        super().__init__(f"more than {size(cap)}")
        self.cap = cap


class UnsupportedEncoding(Exception):
    """A ``Content-Encoding`` the client did not ask for (internal)."""


class Truncated(Exception):
    """A compressed body that ended before its stream did: a cut response (internal)."""


class _Inflate:
    """Streaming gzip/deflate decoding that never makes more than ``_OUT_PIECE`` bytes at once."""

    def __init__(self, coding: str) -> None:
        self._coding = coding
        self._z = zlib.decompressobj(16 + zlib.MAX_WBITS if coding != "deflate" else zlib.MAX_WBITS)
        self._started = False

    def feed(self, data: bytes) -> Iterable[bytes]:
        if not self._started and data:
            self._started = True
            # "deflate" should be zlib-wrapped, but some servers send raw deflate (as urllib3 allows).
            zlib_header = (data[0] & 0x0F) == 8 and (len(data) < 2 or (data[0] << 8 | data[1]) % 31 == 0)
            if self._coding == "deflate" and not zlib_header:
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)
        while True:
            piece = self._z.decompress(data, _OUT_PIECE)
            if piece:
                yield piece
            data = self._z.unconsumed_tail
            if not data and len(piece) < _OUT_PIECE:
                return

    def finish(self) -> Iterable[bytes]:
        yield from self.feed(b"")
        if self._started and not self._z.eof:
            raise Truncated("the compressed body ended early")


def _coding(header: str | None) -> str | None:
    codings = [c.strip().lower() for c in (header or "").split(",") if c.strip().lower() not in ("", "identity")]
    if not codings:
        return None
    if len(codings) == 1 and codings[0] in ("gzip", "x-gzip", "deflate"):
        return codings[0]
    raise UnsupportedEncoding(f"Content-Encoding {header[:60]!r}" if header else "Content-Encoding")


def read_body(raw: Iterable[bytes], content_encoding: str | None, cap: int, sink: Callable[[bytes], object],
              *, check: Callable[[], None] = lambda: None, truncate: bool = False) -> tuple[int, int]:
    """Decode a streamed body into ``sink``, at most ``cap`` decoded bytes.

    Parameters
    ----------
    raw : iterable of bytes
        The body as it came off the wire (``response.raw.stream(n, decode_content=False)``).
    content_encoding : str or None
        The reply's ``Content-Encoding``: none, ``gzip`` or ``deflate``.
    cap : int
        Decoded bytes allowed; one more raises :class:`TooLarge` (or, with ``truncate``, ends
        the read quietly there).
    sink : callable
        Receives each decoded piece.
    check : callable
        Called after every piece read (the deadline's check).

    Returns
    -------
    (decoded, raw) : (int, int)
        Bytes given to ``sink`` and bytes read off the wire.

    Examples
    --------
    >>> import gzip
    >>> out = bytearray()
    >>> read_body([gzip.compress(b"{}")], "gzip", 100, out.extend)
    (2, 22)
    """
    coding = _coding(content_encoding)
    inflate = _Inflate(coding) if coding else None
    decoded = wire = 0

    def emit(pieces: Iterable[bytes]) -> bool:
        nonlocal decoded
        for piece in pieces:
            if decoded + len(piece) > cap:
                if truncate:
                    sink(piece[: cap - decoded])
                    decoded = cap
                    return False
                raise TooLarge(cap)
            sink(piece)
            decoded += len(piece)
        return True

    for block in raw:
        wire += len(block)
        check()
        if not emit(inflate.feed(block) if inflate else (block,)):
            return decoded, wire
    if inflate:
        emit(inflate.finish())
    return decoded, wire
