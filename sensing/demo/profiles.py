"""Demo profiles: which landscape realisation and which observation effects the demo renders.

``development`` is the demo the rules were developed (and, after its first validation failed,
changed) on: sharp pixels, one endmember spectrum per water class times a per-body gain,
no haze. ``evaluation`` is held out: its random streams are salted (another realisation of
every village's landscape, clouds and noise for the same ``seed``), it adds the confounders
real scenes have (:mod:`sensing.demo.confounders`: sub-pixel ditches, building and tree
shadows on ponds, bright high-suspended-matter black-odorous water, an algal bloom, flooded
paddy), draws each water body's spectrum from published ranges (:mod:`sensing.demo.
waterspectra`), and renders through :mod:`sensing.demo.optics` (mixed pixels from a 3x finer
rendering, Sentinel-2's MTF, adjacency, an atmospheric-correction residual, sensor noise).
``tuning`` has the evaluation profile's settings and its own salt: the development data of
the black-odorous rules (issue #12), another draw of the same generator. No rule may be tuned
on ``evaluation``; a third realisation is had with another ``seed``.

A profile is independent of the acquisition dates: every effect is drawn per date from the
date itself, so any list of dates renders.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from types import MappingProxyType


@dataclass(frozen=True, kw_only=True)
class DemoProfile:
    """One demo profile (see the module docstring); every field is recorded by ``describe()``.

    ``salt``: mixed into every random stream (``None``: the development streams, unchanged).
    ``supersample``: render on a grid this many times finer, then average (mixed pixels).
    ``mtf_sigma_px``: Gaussian point-spread sigma in output pixels (0: none in the optics step).
    ``adjacency``: (low, high) weight of the environment's reflectance over each pixel per date.
    ``adjacency_sigma_m``: width of the environment (Gaussian sigma, metres).
    ``haze``: (low, high) of the additive residual at 550 nm per date (reflectance), with an
    Angstrom exponent from ``haze_angstrom``. ``noise_sd``: sensor noise per band (reflectance).
    ``confounders``: add the confounding features. ``water_spectra``: ``"endmembers"`` (the
    development tables times a gain) or ``"published_ranges"`` (per body, per date draws).
    """

    name: str
    salt: int | None = None
    supersample: int = 1
    mtf_sigma_px: float = 0.0
    adjacency: tuple[float, float] = (0.0, 0.0)
    adjacency_sigma_m: float = 300.0
    haze: tuple[float, float] = (0.0, 0.0)
    haze_angstrom: tuple[float, float] = (0.5, 2.0)
    noise_sd: float = 0.0
    confounders: bool = False
    water_spectra: str = "endmembers"

    @property
    def observed(self) -> bool:
        """Whether the optics step (:mod:`sensing.demo.optics`) renders this profile."""
        return self.salt is not None

    def as_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


#: Sentinel-2 MSI MTF at Nyquist is 0.15-0.3 (Gascon et al. 2017, Remote Sens. 9(6): 584); a
#: Gaussian PSF has MTF(f) = exp(-2 pi^2 sigma^2 f^2): 0.17 at f = 0.5 cycles/px for 0.6 px, and
#: with the pixel's own box (sinc, 0.64 at Nyquist) 0.11: a little blurrier than MSI (conservative).
#: Adjacency: a few per cent of the surroundings' reflectance over small inland water within
#: ~1 km (Bulgarelli & Zibordi 2018, Remote Sens. Environ. 209: 381-392; Sterckx, Knaeps &
#: Ruddick 2011, Int. J. Remote Sens. 32(21): 6479-6505). Haze: the residual left by an
#: atmospheric correction over inland water, up to ~0.002 sr^-1 in Rrs (0.006 in reflectance)
#: in the blue-green, falling with wavelength (Warren et al. 2019, Remote Sens. Environ. 225:
#: 267-289; Pahlevan et al. 2021, Remote Sens. Environ. 258: 112366). Noise: MSI's SNR over
#: dark targets gives ~0.0005-0.001 reflectance (ESA Sentinel-2 User Handbook 2015).
_OBSERVED = dict(supersample=3, mtf_sigma_px=0.6, adjacency=(0.01, 0.05), adjacency_sigma_m=300.0,
                 haze=(-0.001, 0.006), haze_angstrom=(0.5, 2.0), noise_sd=0.0007, confounders=True,
                 water_spectra="published_ranges")
PROFILES = MappingProxyType({
    "development": DemoProfile(name="development"),
    #: the black-odorous rules' development data (issue #12): the evaluation profile's kinds of
    #: confounders and observation effects, drawn from other streams (salt 7)
    "tuning": DemoProfile(name="tuning", salt=7, **_OBSERVED),
    #: held out: frozen since it was first scored (salt, settings and seed 2024 unchanged)
    "evaluation": DemoProfile(name="evaluation", salt=12, **_OBSERVED),
})
DEFAULT_PROFILE = "development"


def get_profile(name: str) -> DemoProfile:
    """The profile called ``name`` (``ValueError`` naming the known ones otherwise)."""
    try:
        return PROFILES[str(name)]
    except KeyError:
        raise ValueError(f"demo profile {name!r} unknown; known: {', '.join(PROFILES)}") from None
