"""Child process of `parsing.parse_pdf`: a header line `<max_pages> <size>` then the PDF
bytes on stdin; one JSON message per line out."""

from __future__ import annotations

import json
import sys

from beacon_ingestion.pipeline.parsing import parse_stream


def main() -> None:
    import pypdfium2  # noqa: F401 - imported before the work arrives: this child waits warm

    header = sys.stdin.buffer.readline().split()
    if len(header) != 2:
        return  # the parent went away before sending work
    max_pages, size = int(header[0]), int(header[1])
    data = sys.stdin.buffer.read(size)
    out = sys.stdout

    def emit(message) -> None:
        out.write(json.dumps(message, ensure_ascii=False) + "\n")
        out.flush()

    try:
        parse_stream(data, emit, max_pages)
    except Exception as exc:  # noqa: BLE001 - report anything rather than die silently
        emit(["error", f"corrupt PDF: {exc.__class__.__name__}: {exc}"])


if __name__ == "__main__":
    main()
