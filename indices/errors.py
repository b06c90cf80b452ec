"""Errors raised by ``indices``."""
from __future__ import annotations

from typing import Iterable

from villagewatch import VillagewatchError


class IndicesError(VillagewatchError):
    """Base class: an index, threshold or vectorisation cannot be computed from this input."""


class MissingBandError(IndicesError, KeyError):
    """An index needs bands the scene does not have.

    ``index`` names what was asked for, ``missing`` the absent bands (``"nir"`` stands for
    ``nir`` or ``nir08``), ``present`` the bands the scene has. Also a ``KeyError``, so
    code that looks bands up by name can catch it as one.
    """

    def __init__(self, index: str, missing: Iterable[str], present: Iterable[str] = (), note: str = "") -> None:
        self.index = str(index)
        self.missing = tuple(missing)
        self.present = tuple(str(p) for p in present)
        self.note = note
        super().__init__(self.index, self.missing)

    def __str__(self) -> str:  # KeyError would repr() the message: give the plain sentence
        have = ", ".join(self.present) or "no bands"
        msg = f"{self.index} needs {', '.join(self.missing)}; scene has {have}"
        return f"{msg}. {self.note}" if self.note else msg


class UncalibratedError(IndicesError):
    """A product with absolute reflectance thresholds was asked of relative (uncalibrated)
    values: ``product`` names it, ``units`` is what the input says."""

    def __init__(self, product: str, units: str = "relative", note: str = "") -> None:
        self.product = str(product)
        self.units = str(units)
        self.note = note
        super().__init__(self.__str__())

    def __str__(self) -> str:
        msg = (f"{self.product} needs calibrated reflectance (its thresholds are absolute), but the input is "
               f"{self.units} (uncalibrated digital numbers scaled only for display); give the imagery's scale "
               f"and offset to compute it")
        return f"{msg}. {self.note}" if self.note else msg
