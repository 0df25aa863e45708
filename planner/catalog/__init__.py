"""GPU and MIG catalog: datasheet figures, default prices and MIG geometry, read from the
package's data files (planner/catalog/data/), each table citing its source."""

from planner.catalog.catalog import Catalog, UnknownGpu, load_catalog, normalize_gpu_name
from planner.catalog.gpu import (
    ARCHITECTURES,
    PRECISIONS,
    REQUIRED_PRECISIONS,
    Gpu,
    MigGeometry,
    MigProfile,
)
from planner.catalog.loader import CatalogDataError, build_gpu

__all__ = [
    "ARCHITECTURES",
    "PRECISIONS",
    "REQUIRED_PRECISIONS",
    "Catalog",
    "CatalogDataError",
    "Gpu",
    "MigGeometry",
    "MigProfile",
    "UnknownGpu",
    "build_gpu",
    "load_catalog",
    "normalize_gpu_name",
]
