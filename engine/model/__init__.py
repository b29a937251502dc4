"""Hierarchical Bayesian team-strength models and their compiled inference.

The path of a fit: `design` selects training matches and pads them into
fixed-shape arrays; `fit` samples the posterior with a sampler compiled once per
array bucket; the resulting `Fit` holds an ArviZ InferenceData and a
`Diagnostics` summary; `fixture_rates` turns it into posterior scoring rates
for fixtures, from which every market is derived.
"""

from engine.artefacts import from_netcdf_bytes, to_netcdf_bytes
from engine.model.arrays import Bucket, Design, ModelData, ModelInputError, design
from engine.model.fitting import Fit, fit
from engine.model.inference import (
    SamplerSettings,
    WarmStart,
    clear_compiled,
    compile_count,
    enable_compilation_cache,
)
from engine.model.models import MODELS
from engine.model.posterior import (
    ConvergenceWarning,
    Diagnostics,
    diagnose,
)
from engine.model.rates import FixtureRates, fixture_rates

__all__ = [
    "MODELS",
    "Bucket",
    "ConvergenceWarning",
    "Design",
    "Diagnostics",
    "Fit",
    "FixtureRates",
    "ModelData",
    "ModelInputError",
    "SamplerSettings",
    "WarmStart",
    "clear_compiled",
    "compile_count",
    "design",
    "diagnose",
    "enable_compilation_cache",
    "fit",
    "fixture_rates",
    "from_netcdf_bytes",
    "to_netcdf_bytes",
]
