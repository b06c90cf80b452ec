"""Exception hierarchy of the sensing sources (modelled on rioxarray's)."""
from villagewatch import VillagewatchError


class SensingError(VillagewatchError):
    """Base class: anything that stops a source from producing a Scene."""


class SceneContractError(SensingError, ValueError):
    """A Dataset does not satisfy the Scene contract (DESIGN.md)."""


class NoDataError(SensingError):
    """No usable acquisition for the village and period (none found, all cloudy, AOI outside)."""


class SourceUnavailableError(SensingError):
    """The imagery source (STAC API, folder) cannot be reached or read."""


class ImageryFileError(SensingError, ValueError):
    """A local imagery file is corrupt, lacks a CRS, or its band map does not fit."""


class UnknownSensorError(SensingError, ValueError):
    """A sensor name that is not in ``sensing.sensors.SENSORS``; the message lists the valid names."""


class SourceOptionError(SensingError, ValueError):
    """A source option that cannot be used (an unknown collection, a cloud cover outside 0..100,
    a band pattern without ``{band}``); the message names the option and the valid values."""
