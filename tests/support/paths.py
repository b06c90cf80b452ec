"""Where the tests find the repository and the real data."""
from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: real imagery and recorded STAC responses (``VILLAGEWATCH_REALDATA``, default a ``shared/realdata``
#: folder beside the checkout); tests that need them skip with the reason when it is missing
REALDATA = Path(os.environ.get("VILLAGEWATCH_REALDATA", REPO.parent / "shared" / "realdata"))
