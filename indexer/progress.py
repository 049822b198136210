"""Progress of a sync: a bar on a terminal, log lines elsewhere, a callback for the bot."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class Progress:
    """Counts documents processed and chunks embedded for the source being synced.

    ``on_update`` receives ``{"source", "docs_done", "docs_total", "chunks_embedded"}``
    so a caller (the Slack app's re-index command) can relay progress.
    """

    def __init__(self, bar: bool | None = None,
                 on_update: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.bar_enabled = sys.stderr.isatty() if bar is None else bar
        self.on_update = on_update
        self._bar: Any = None
        self.source, self.docs_done, self.docs_total, self.chunks = "", 0, 0, 0

    def start_source(self, name: str, total_docs: int) -> None:
        self.close()
        self.source, self.docs_done, self.docs_total, self.chunks = name, 0, total_docs, 0
        if self.bar_enabled and total_docs:
            from tqdm import tqdm

            self._bar = tqdm(total=total_docs, desc=f"sync {name}", unit="doc",
                             file=sys.stderr, leave=False)
        self._notify()

    def advance_docs(self, n: int = 1) -> None:
        self.docs_done += n
        if self._bar is not None:
            self._bar.update(n)
        self._notify()

    def advance_chunks(self, n: int) -> None:
        self.chunks += n
        if self._bar is not None:
            self._bar.set_postfix(embedded=self.chunks)
        self._notify()

    def _notify(self) -> None:
        if self.on_update is not None:
            self.on_update({"source": self.source, "docs_done": self.docs_done,
                            "docs_total": self.docs_total, "chunks_embedded": self.chunks})

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
