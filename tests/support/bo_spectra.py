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
# expected per-method flags (boi, ndbwi, cie, dark) and the decision, from the published
# thresholds (BOI 0.065, NDBWI -0.05..0.115) and ours (purity 0.25 through Sentinel-2's
# transform, max rho 0.04, all 4 votes, B > G blue guard, max rho >= 0.08 bright guard): the
# purities and brightness are in the docs table (S2: black 0.194, flat 0.073, clear blue 0.280)
EXPECTED = {
    "black_odorous": (True, True, True, True, True),  # 4 votes (purity 0.194, max rho 0.0188)
    "black_odorous_flat": (True, True, True, True, True),
    "ordinary": (False, False, False, False, False),  # purity 0.354, max rho 0.0565
    "clear_blue": (True, True, False, True, False),  # 3 votes, but blue-dominant: the blue guard
    "algal": (False, False, False, False, False),
    "turbid_red": (True, False, False, False, False),
    "turbid_neutral": (True, True, False, False, False),  # 2 votes, but too bright (max rho 0.094)
}
