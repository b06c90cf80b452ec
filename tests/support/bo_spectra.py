"""Literature-shaped in-situ Rrs (sr^-1), band means B, G, R, of black-odorous and other waters,
with the flags each black-odorous method should give (tests/indices/test_blackodorous.py) and
the spectra ``flows.evaluation.spectra`` scores (tests/flows/evaluation/test_validation.py)."""
from __future__ import annotations

SPECTRA = {
    "black_odorous": (0.0040, 0.0060, 0.0058),
    "black_odorous_flat": (0.0030, 0.0035, 0.0034),
    "ordinary": (0.0080, 0.0180, 0.0100),
    "clear_blue": (0.0060, 0.0030, 0.0028),
    "algal": (0.0060, 0.0200, 0.0080),
    "turbid_red": (0.0200, 0.0400, 0.0450),
    "turbid_neutral": (0.0150, 0.0300, 0.0280),
}
# expected per-method flags (boi, ndbwi, cie, dark) and the guarded decision
EXPECTED = {
    "black_odorous": (True, True, True, True, True),
    "black_odorous_flat": (True, True, True, True, True),
    "ordinary": (False, False, False, False, False),
    "clear_blue": (True, True, False, True, False),  # dark, G ~ R: only the colour excludes it
    "algal": (False, False, False, False, False),
    "turbid_red": (True, False, False, False, False),
    "turbid_neutral": (True, True, False, False, False),
}
