"""A semi-analytical bio-optical model of inland water: remote-sensing reflectance Rrs(lambda)
(sr^-1) and water-leaving reflectance rho_w = pi Rrs from chlorophyll-a, suspended matter and
CDOM, with literature ranges per water class. The independent spectral test bed of the
black-odorous rules (``flows.evaluation.testbed``); standalone (NumPy only).

The model (optically deep water, nadir view):

* total absorption ``a = a_w + a_ph + a_g + a_nap`` and backscattering ``bb = bb_w + bb_ph + bb_nap``;
* ``u = bb / (a + bb)``; subsurface ``rrs = g1 u + g2 u^2`` with g1 = 0.0949, g2 = 0.0794
  (Gordon H.R., Brown O.B., Evans R.H. et al. 1988, A semianalytic radiance model of ocean
  color, J. Geophys. Res. 93(D9): 10909-10924);
* above-surface ``Rrs = 0.52 rrs / (1 - 1.7 rrs)`` (Lee Z.P., Carder K.L., Arnone R.A. 2002,
  Deriving inherent optical properties from water color, Appl. Opt. 41(27): 5755-5772).

The components (tables in ``data/``, see ``data/README.md``):

* ``a_w``: pure water, Pope R.M. & Fry E.S. 1997, Appl. Opt. 36(33): 8710-8723 (380-727.5 nm,
  2.5 nm), then Palmer K.F. & Williams D. 1974, J. Opt. Soc. Am. 64(8): 1107-1110 (to 909 nm);
* ``bb_w``: half the pure (fresh) water scattering of Morel A. 1974 (Optical properties of pure
  water and pure sea water, in Optical Aspects of Oceanography, Academic Press):
  ``b_w(500) = 0.00222 m^-1``, ``b_w ~ lambda^-4.32``;
* ``a_ph = A(lambda) Chl^E(lambda)``: Bricaud A., Morel A., Babin M., Allali K., Claustre H.
  1998, J. Geophys. Res. 103(C13): 31033-31044 (A_ph, E_ph; 400-700 nm, 0 beyond);
* ``bb_ph``: particle scattering of phytoplankton-dominated water, ``b_p(550) = 0.416
  Chl^0.766`` (Loisel H. & Morel A. 1998, Limnol. Oceanogr. 43(5): 847-858) times the
  backscattering ratio ``0.002 + 0.01 (0.5 - 0.25 log10 Chl)`` (>= 0.002) of Morel A. &
  Maritorena S. 2001 (J. Geophys. Res. 106(C4): 7163-7180), spectrally ``(550 / lambda)``;
* ``a_g = a_g(440) exp(-S_g (lambda - 440))``: CDOM, Bricaud A., Morel A., Prieur L. 1981,
  Limnol. Oceanogr. 26(1): 43-53;
* ``a_nap = SPM a*_nap(443) exp(-S_nap (lambda - 443))`` and ``bb_nap = SPM bb*_nap(555)
  (555 / lambda)^gamma``: non-algal particles, Babin M., Stramski D., Ferrari G.M. et al. 2003,
  J. Geophys. Res. 108(C7): 3211 (absorption: a*_nap(443) mean 0.041 m2 g^-1, S_nap mean
  0.0123 nm^-1) and Babin M., Morel A., Fournier-Sicre V. et al. 2003, Limnol. Oceanogr. 48(2):
  843-859 (scattering: mass-specific b_p(555) about 0.5 m2 g^-1 for mineral-rich coastal
  particles; a backscattering ratio of about 0.0183, Petzold's, gives bb* about 0.009 m2 g^-1).

Black-odorous water is modelled as CDOM-rich water whose suspended matter is *dark*: black
iron and manganese sulphides (FeS, MnS) and decaying organic sludge absorb strongly and
flatly and scatter little. That is the reading of 丁潇蕾, 李云梅, 吕恒, 朱利, 温爽, 雷少华 2018
(城市黑臭水体的吸收特性分析, 环境科学 39(10): 4519-4529: black-odorous water has higher total
particulate and non-pigment particulate absorption and markedly higher CDOM absorption than
other urban water; 85 black-odorous and 80 other samples in Changsha, Nanjing and Wuxi). The
dark-particle optics (a*_nap(443) 0.06-0.15 m2 g^-1, flat slope, bb* 0.002-0.006 m2 g^-1) are
**our** parameterisation of that reading, not a published fit.

Ranges per class (``WATER_CLASSES``): the concentration ranges span the values these
studies report for each kind of water; each class lists its sources. We could read the
abstracts, not every table, offline: the ranges are literature-shaped, not digitised.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent / "data"

#: the model's wavelength grid (nm): visible and near infrared, the grid of the stored responses
WAVELENGTHS = np.round(np.arange(400.0, 900.0 + 1e-9, 2.5), 2)

G1, G2 = 0.0949, 0.0794  # Gordon et al. 1988
BW_500_FRESH = 0.00222  # m^-1, Morel 1974 pure (fresh) water scattering at 500 nm
BW_EXPONENT = 4.32  # Morel 1974


def _table(name: str, cols=None) -> np.ndarray:
    return np.loadtxt(DATA / name, delimiter=",", skiprows=1, usecols=cols)


_AW = _table("pure_water_absorption.csv", (0, 1))
_APH = _table("phytoplankton_absorption_bricaud_1998.csv")


def pure_water_absorption(wl=WAVELENGTHS) -> np.ndarray:
    """a_w (m^-1): Pope & Fry 1997 (2.5 nm, to 727.5 nm), then Palmer K.F. & Williams D. 1974
    (J. Opt. Soc. Am. 64(8): 1107-1110) to 909 nm; linear in between."""
    return np.interp(wl, _AW[:, 0], _AW[:, 1])


def pure_water_backscattering(wl=WAVELENGTHS) -> np.ndarray:
    """bb_w = b_w / 2 (m^-1), fresh water, Morel 1974: b_w(500) = 0.00222, ~lambda^-4.32."""
    return 0.5 * BW_500_FRESH * (500.0 / np.asarray(wl, dtype="float64")) ** BW_EXPONENT


def phytoplankton_absorption(chl, wl=WAVELENGTHS) -> np.ndarray:
    """a_ph = A(lambda) Chl^E(lambda) (m^-1; Chl in mg m^-3 = ug L^-1), Bricaud et al. 1998
    (400-700 nm; 0 beyond, where chlorophyll barely absorbs). ``chl`` (n,) gives (n, len(wl))."""
    a = np.interp(wl, _APH[:, 0], _APH[:, 1], right=0.0)
    e = np.interp(wl, _APH[:, 0], _APH[:, 2])
    chl = np.asarray(chl, dtype="float64")[..., None]
    return a * chl ** e


def phytoplankton_backscattering(chl, wl=WAVELENGTHS) -> np.ndarray:
    """bb_ph = 0.416 Chl^0.766 (Loisel & Morel 1998) x max(0.002, 0.002 + 0.01 (0.5 - 0.25
    log10 Chl)) (Morel & Maritorena 2001) x 550 / lambda (m^-1)."""
    chl = np.asarray(chl, dtype="float64")[..., None]
    ratio = np.maximum(0.002, 0.002 + 0.01 * (0.5 - 0.25 * np.log10(chl)))
    return 0.416 * chl ** 0.766 * ratio * (550.0 / np.asarray(wl, dtype="float64"))


def cdom_absorption(ag440, slope, wl=WAVELENGTHS) -> np.ndarray:
    """a_g = a_g(440) exp(-S (lambda - 440)) (m^-1), Bricaud et al. 1981."""
    ag440 = np.asarray(ag440, dtype="float64")[..., None]
    slope = np.asarray(slope, dtype="float64")[..., None]
    return ag440 * np.exp(-slope * (np.asarray(wl) - 440.0))


def nap_absorption(spm, a_star443, slope, wl=WAVELENGTHS) -> np.ndarray:
    """a_nap = SPM a*_nap(443) exp(-S (lambda - 443)) (m^-1; SPM g m^-3), Babin et al. 2003."""
    spm, a_star443, slope = (np.asarray(v, dtype="float64")[..., None] for v in (spm, a_star443, slope))
    return spm * a_star443 * np.exp(-slope * (np.asarray(wl) - 443.0))


def nap_backscattering(spm, bb_star555, gamma, wl=WAVELENGTHS) -> np.ndarray:
    """bb_nap = SPM bb*(555) (555 / lambda)^gamma (m^-1), Babin et al. 2003 (L&O)."""
    spm, bb_star555, gamma = (np.asarray(v, dtype="float64")[..., None] for v in (spm, bb_star555, gamma))
    return spm * bb_star555 * (555.0 / np.asarray(wl, dtype="float64")) ** gamma


def rrs_from_iops(a, bb) -> np.ndarray:
    """Above-surface remote-sensing reflectance (sr^-1) from total a and bb: Gordon et al. 1988
    subsurface rrs = g1 u + g2 u^2, u = bb / (a + bb); Rrs = 0.52 rrs / (1 - 1.7 rrs), Lee et al. 2002."""
    u = bb / (a + bb)
    rrs = G1 * u + G2 * u * u
    return 0.52 * rrs / (1.0 - 1.7 * rrs)


def remote_sensing_reflectance(chl, spm, ag440, *, s_g=0.014, a_nap443_star=0.041, s_nap=0.0123,
                               bb_nap555_star=0.009, gamma=0.5, wl=WAVELENGTHS) -> np.ndarray:
    """Rrs (sr^-1), shape (n, len(wl)), of water with ``chl`` (ug L^-1), ``spm`` (mg L^-1 = g m^-3)
    and ``ag440`` (m^-1); scalars or arrays of one length. Defaults: Bricaud 1981 S_g; Babin et
    al. 2003 mean NAP absorption and a mineral bb*."""
    chl, spm, ag440 = np.broadcast_arrays(*(np.atleast_1d(np.asarray(v, dtype="float64")) for v in (chl, spm, ag440)))
    n = chl.shape[0]

    def col(v):
        return np.broadcast_to(np.asarray(v, dtype="float64"), (n,))

    a = (pure_water_absorption(wl)[None, :] + phytoplankton_absorption(chl, wl)
         + cdom_absorption(ag440, col(s_g), wl) + nap_absorption(spm, col(a_nap443_star), col(s_nap), wl))
    bb = (pure_water_backscattering(wl)[None, :] + phytoplankton_backscattering(chl, wl)
          + nap_backscattering(spm, col(bb_nap555_star), col(gamma), wl))
    return rrs_from_iops(a, bb)


# --------------------------------------------------------------------------- water classes
@dataclass(frozen=True)
class WaterClass:
    """Ranges (low, high) of one kind of water. Concentrations are drawn log-uniformly,
    spectral parameters uniformly. ``sources``: where the ranges come from."""

    name: str
    black_odorous: bool
    chl: tuple[float, float]  # ug L^-1
    spm: tuple[float, float]  # mg L^-1 (non-algal suspended matter)
    ag440: tuple[float, float]  # m^-1
    s_g: tuple[float, float] = (0.012, 0.020)  # nm^-1, Bricaud 1981; Babin 2003 mean 0.0176
    a_nap443_star: tuple[float, float] = (0.02, 0.07)  # m2 g^-1, Babin 2003 (mean 0.041)
    s_nap: tuple[float, float] = (0.009, 0.015)  # nm^-1, Babin 2003 (mean 0.0123)
    bb_nap555_star: tuple[float, float] = (0.006, 0.014)  # m2 g^-1, Babin 2003 (L&O) b* x 0.0183
    gamma: tuple[float, float] = (0.0, 1.0)  # spectral slope of particle backscattering
    sources: str = ""

    def draw(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        def logu(lo_hi):
            lo, hi = lo_hi
            return np.exp(rng.uniform(math.log(lo), math.log(hi), n))

        def uni(lo_hi):
            return rng.uniform(lo_hi[0], lo_hi[1], n)

        return {"chl": logu(self.chl), "spm": logu(self.spm), "ag440": logu(self.ag440), "s_g": uni(self.s_g),
                "a_nap443_star": uni(self.a_nap443_star), "s_nap": uni(self.s_nap),
                "bb_nap555_star": uni(self.bb_nap555_star), "gamma": uni(self.gamma)}


#: dark, flat-absorbing suspended matter of black-odorous water (ours; see the module docstring)
_DARK_PARTICLES = dict(a_nap443_star=(0.06, 0.15), s_nap=(0.0, 0.004), bb_nap555_star=(0.002, 0.006), gamma=(0.0, 0.5))
#: the bright type: much sediment, partly blackened (ours)
_GREY_PARTICLES = dict(a_nap443_star=(0.03, 0.08), s_nap=(0.0, 0.006), bb_nap555_star=(0.005, 0.012), gamma=(0.0, 0.5))

_BLACK_SOURCES = ("丁潇蕾 et al. 2018 环境科学 39(10) (higher particulate and CDOM absorption in black-odorous "
                  "water); 温爽 et al. 2018 环境科学 39(1) and 姚月 et al. 2019 遥感学报 23(2) (lowest Rrs of urban "
                  "water, flat visible spectrum, Nanjing / Shenyang in-situ); Shen et al. 2019 IEEE TGRS 57(9)")

WATER_CLASSES: dict[str, WaterClass] = {c.name: c for c in (
    WaterClass("black_odorous", True, chl=(2.0, 60.0), spm=(5.0, 40.0), ag440=(0.8, 4.0), **_DARK_PARTICLES,
               sources=_BLACK_SOURCES),
    # Shen et al. 2019 describe a second, bright black-odorous type with high suspended matter
    WaterClass("black_odorous_bright", True, chl=(2.0, 40.0), spm=(50.0, 200.0), ag440=(0.8, 4.0), **_GREY_PARTICLES,
               sources="Shen et al. 2019 IEEE TGRS 57(9) (the high-suspended-matter black-odorous type); "
                       + _BLACK_SOURCES),
    WaterClass("ordinary", False, chl=(1.0, 20.0), spm=(1.0, 20.0), ag440=(0.1, 1.5),
               sources="clear to mesotrophic inland water: Bricaud et al. 1981 (CDOM), Babin et al. 2003 "
                       "(European coastal, a_g(443) 0.01-2 m^-1), 温爽 et al. 2018 / 姚月 et al. 2019 ordinary "
                       "urban water (a green Rrs peak)"),
    WaterClass("turbid_river", False, chl=(1.0, 15.0), spm=(30.0, 300.0), ag440=(0.2, 1.5),
               sources="sediment-laden rivers: Babin et al. 2003 (mineral particle optics); SPM of tens to "
                       "hundreds mg/L as in Chinese rivers and estuaries (e.g. Yangtze estuary studies)"),
    WaterClass("eutrophic", False, chl=(20.0, 300.0), spm=(5.0, 50.0), ag440=(0.3, 2.5),
               sources="eutrophic lakes and algal blooms: Taihu-type waters (Chl-a tens to hundreds ug/L; "
                       "e.g. Ma R. et al. and Zhang Y. et al. bio-optical surveys of Lake Taihu); Bricaud et "
                       "al. 1998 a_ph"),
)}


def sample_class(cls: WaterClass, n: int, rng: np.random.Generator, wl=WAVELENGTHS) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """``n`` draws of a water class: (their constituents, Rrs (n, len(wl)))."""
    p = cls.draw(n, rng)
    rrs = remote_sensing_reflectance(p["chl"], p["spm"], p["ag440"], s_g=p["s_g"], a_nap443_star=p["a_nap443_star"],
                                     s_nap=p["s_nap"], bb_nap555_star=p["bb_nap555_star"], gamma=p["gamma"], wl=wl)
    return p, rrs


# --------------------------------------------------------------------------- shadows
def rayleigh_optical_depth(wl=WAVELENGTHS) -> np.ndarray:
    """tau_R at sea level: 0.008569 l^-4 (1 + 0.0113 l^-2 + 0.00013 l^-4), l in um
    (Hansen J.E. & Travis L.D. 1974, Space Sci. Rev. 16: 527-610)."""
    lam = np.asarray(wl, dtype="float64") / 1000.0
    return 0.008569 * lam ** -4 * (1 + 0.0113 * lam ** -2 + 0.00013 * lam ** -4)


def diffuse_fraction(tau_a550, sun_zenith_deg, *, angstrom=1.3, omega=0.9, forward=0.8, wl=WAVELENGTHS) -> np.ndarray:
    """Share of the downwelling irradiance that is diffuse skylight, Ed_dif / (Ed_dir + Ed_dif):
    what lights water in a building's or tree's shadow. Single-scattering clear-sky estimate:
    direct ``exp(-(tau_R + tau_a) / mu0)``; diffuse ``0.5 (1 - exp(-tau_R / mu0)) + F (1 - exp(-omega
    tau_a / mu0))`` (half the Rayleigh scattering and the forward share F of aerosol scattering go
    down; cf. Gregg W.W. & Carder K.L. 1990, Limnol. Oceanogr. 35(8): 1657-1675). ``tau_a =
    tau_a550 (lambda / 550)^-angstrom``. Shape (n, len(wl))."""
    tau_a550 = np.asarray(tau_a550, dtype="float64")[..., None]
    mu0 = np.cos(np.radians(np.asarray(sun_zenith_deg, dtype="float64")))[..., None]
    tr = rayleigh_optical_depth(wl)
    ta = tau_a550 * (np.asarray(wl) / 550.0) ** -angstrom
    direct = np.exp(-(tr + ta) / mu0)
    diffuse = 0.5 * (1 - np.exp(-tr / mu0)) + forward * (1 - np.exp(-omega * ta / mu0))
    return diffuse / (direct + diffuse)
