"""PolicyBot sends nothing home, and neither do the libraries it runs for it.

OpenVINO reports each ``import openvino`` and NNCF each quantization to Google Analytics
through the ``openvino-telemetry`` package (a client id under ``~/intel``, a forked
sender process per event) unless the user opted out on that machine: collection is on
by default. A self-hosted bot on an admin's server must not phone home, least of all
from every process start. Both libraries fall back to their own no-op telemetry when
that package cannot be imported, so PolicyBot makes it unimportable in its own process
before importing either. Nothing outside the process (the user's opt-in choice for
their other OpenVINO tools) is touched.
"""

from __future__ import annotations

import logging
import sys

log = logging.getLogger(__name__)
VENDOR_TELEMETRY = "openvino_telemetry"


def block_vendor_telemetry() -> None:
    """Make ``openvino_telemetry`` unimportable here; call before importing OpenVINO or
    NNCF. When something imported it earlier, say so: what it sent is sent."""
    loaded = sys.modules.get(VENDOR_TELEMETRY, None)
    if loaded is not None:
        log.warning("%s was imported before PolicyBot could block it: OpenVINO/NNCF usage "
                    "data may be sent; run `opt_in_out --opt_out` to stop it machine-wide",
                    VENDOR_TELEMETRY)
        return
    # A None entry makes `import openvino_telemetry` raise ImportError (importlib's rule).
    sys.modules[VENDOR_TELEMETRY] = None  # type: ignore[assignment]
