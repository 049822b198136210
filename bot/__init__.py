"""PolicyBot's application: the Slack surface, the CLI and the app's state."""

import time

# When the application began importing: the CLI reports how long a command took to be
# ready (imports, settings, the model, the index) apart from the answer's own time.
STARTED = time.perf_counter()
