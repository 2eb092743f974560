"""The pandas accessor and the polars namespace (``.infinity``): thin, delegating to one core."""

from .accessors import PandasInfinity, PolarsInfinity

__all__ = ["PandasInfinity", "PolarsInfinity"]
