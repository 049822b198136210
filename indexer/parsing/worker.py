"""The parse worker's main loop (run as ``python -m indexer.parsing.worker MEMORY_MB``).

Reads length-prefixed pickled ``(RawDocument, cleaner)`` requests from stdin, answers
``("ok", ParsedDocument)`` or ``("error", reason)``. The address-space limit is the
interpreter's size at start plus the budget; a format's parser library is imported when
the first document of that format arrives (so a CLI sync of a few Markdown edits never
pays for importing the PDF and DOCX stacks), inside the budget.
"""

from __future__ import annotations

import gc
import os
import pickle
import resource
import struct
import sys

HEADER = struct.Struct("!Q")


def _read(stream: object, size: int) -> bytes:
    data = stream.read(size)  # type: ignore[attr-defined]
    if len(data) < size:
        raise EOFError
    return data


def _out_of_memory(exc: BaseException | None) -> bool:
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, MemoryError):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def main() -> None:
    from indexer.parsing import parse_document  # format parsers load on first use

    budget = int(sys.argv[1]) * 1024 * 1024
    with open("/proc/self/statm") as statm:
        base = int(statm.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (base + budget, base + budget))
    # The protocol gets a private copy of stdout; anything a library prints goes to stderr.
    stdout = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    stdin = sys.stdin.buffer
    stdout.write(HEADER.pack(5) + b"ready")
    stdout.flush()
    while True:
        try:
            (size,) = HEADER.unpack(_read(stdin, HEADER.size))
            raw, cleaner = pickle.loads(_read(stdin, size))
        except EOFError:
            return
        try:
            payload = pickle.dumps(("ok", parse_document(raw, cleaner)),
                                   protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # a ParseError, or a result that will not pickle
            reason = str(exc) or type(exc).__name__
            if _out_of_memory(exc):  # parsers wrap it: MemoryError becomes a ParseError
                reason = (f"the parser ran out of its {sys.argv[1]} MiB memory budget; "
                          "skipped (parsing.memory_mb)")
            del exc
            gc.collect()
            payload = pickle.dumps(("error", reason))
        stdout.write(HEADER.pack(len(payload)) + payload)
        stdout.flush()


if __name__ == "__main__":
    main()
