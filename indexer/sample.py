"""The bundled sample handbook of the fictional Fernhill Analytics, for demos and tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SAMPLE_DIR = Path(__file__).resolve().parent / "sample_handbook"


def sample_source(name: str = "sample-handbook") -> dict[str, Any]:
    """A ``[[sources]]`` entry for the sample handbook shipped inside the package."""
    return {"name": name, "type": "directory", "path": str(SAMPLE_DIR)}
