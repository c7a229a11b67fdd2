"""Crack mask rasters to crack map features measured in metres.

:class:`StripLabeler` finds the connected crack components of a mask read in strips,
:func:`measure_component` measures one component in pixels and
:func:`vectorize_features` / :func:`write_cracks_gpkg` produce the georeferenced polygon
and centreline layers (and the wide features kept for review).
"""

from geowarn.vectorize.components import Component, StripLabeler
from geowarn.vectorize.features import (
    COLUMNS,
    LENGTH_REL_UNC,
    VectorFeatures,
    vectorize_cracks,
    vectorize_features,
)
from geowarn.vectorize.gpkg import CENTERLINE_LAYER, POLYGON_LAYER, UNCONFIRMED_LAYER, WIDE_LAYER, write_cracks_gpkg
from geowarn.vectorize.measure import (
    ComponentInputError,
    CrackMeasurement,
    EmptyComponentError,
    measure_component,
)

__all__ = [
    "CENTERLINE_LAYER",
    "COLUMNS",
    "LENGTH_REL_UNC",
    "POLYGON_LAYER",
    "UNCONFIRMED_LAYER",
    "WIDE_LAYER",
    "Component",
    "ComponentInputError",
    "CrackMeasurement",
    "EmptyComponentError",
    "StripLabeler",
    "VectorFeatures",
    "measure_component",
    "vectorize_cracks",
    "vectorize_features",
    "write_cracks_gpkg",
]
