"""The Gaussian process :func:`~infinityframe.learn.suggest.suggest` fits: a few dozen jobs, numpy and scipy.

The model is the usual one for a handful of noisy measurements over a few inputs: a constant
times a Matérn 5/2 kernel with one length scale per input (so an input that does not matter
gets a long scale and stops mattering), plus white noise, on a target normalised to mean 0 and
standard deviation 1. Its hyperparameters maximise the log marginal likelihood (L-BFGS-B in log
space, with analytic gradients), from the initial values and then from ``restarts`` points drawn
uniformly in the log bounds. This is scikit-learn's ``GaussianProcessRegressor`` with
``ConstantKernel * Matern(nu=2.5) + WhiteKernel`` and ``normalize_y=True``, step for step (the
tests hold the two to the same likelihood, gradient, optimum and predictions), written out so
that a suggestion does not import scikit-learn: about 0.4 s of a script's start (more where
nothing else has loaded scipy.stats), for a model of a few dozen rows that fits in milliseconds.

>>> rng = np.random.default_rng(0)
>>> x = rng.uniform(size=(20, 2))
>>> model = fit(x, np.sin(6 * x[:, 0]), seed=0)     # only the first input matters
>>> scales = model.length_scales
>>> bool(scales[1] > 10 * scales[0])
True
>>> mean, sd = model.predict(x[:3])
>>> bool(np.allclose(mean, np.sin(6 * x[:3, 0]), atol=0.05)), bool((sd < 0.1).all())
(True, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["GaussianProcess", "fit"]

# Bounds of the hyperparameters (not their logs): the constant, each length scale (inputs are
# scaled to [0, 1]), the noise.
CONSTANT = (1e-3, 1e3)
LENGTH_SCALE = (1e-2, 1e2)
NOISE = (1e-6, 1.0)
INITIAL = (1.0, 0.5, 1e-2)  # constant, each length scale, noise
JITTER = 1e-10  # added to the diagonal, as scikit-learn's default ``alpha``
_SQRT5 = math.sqrt(5.0)


def _bounds(inputs: int) -> np.ndarray:
    bounds: np.ndarray = np.log(np.array([CONSTANT, *[LENGTH_SCALE] * inputs, NOISE]))
    return bounds


def _kernel(theta: np.ndarray, x: np.ndarray, gradient: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """``k(x, x)`` with the noise on its diagonal, and (``gradient``) its derivatives by ``theta``
    (the log hyperparameters), stacked on a last axis."""
    constant, scales, noise = np.exp(theta[0]), np.exp(theta[1:-1]), np.exp(theta[-1])
    scaled = (x[:, np.newaxis, :] - x[np.newaxis, :, :]) ** 2 / scales**2
    root = _SQRT5 * np.sqrt(scaled.sum(axis=2))
    decay = np.exp(-root)
    signal = constant * (1.0 + root + root**2 / 3.0) * decay
    k = signal.copy()
    k[np.diag_indices_from(k)] += noise
    if not gradient:
        return k, None
    by_scale = constant * 5.0 / 3.0 * scaled * ((root + 1.0) * decay)[..., np.newaxis]
    by_noise = noise * np.eye(len(x))[..., np.newaxis]
    return k, np.concatenate([signal[..., np.newaxis], by_scale, by_noise], axis=2)


def _cross(theta: np.ndarray, x: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """``k(x, seen)``: no noise between distinct points."""
    scales = np.exp(theta[1:-1])
    root = _SQRT5 * np.sqrt((((x[:, np.newaxis, :] - seen[np.newaxis, :, :]) / scales) ** 2).sum(axis=2))
    cross: np.ndarray = np.exp(theta[0]) * (1.0 + root + root**2 / 3.0) * np.exp(-root)
    return cross


def _likelihood(theta: np.ndarray, x: np.ndarray, y: np.ndarray, gradient: bool = True) -> tuple[float, np.ndarray]:
    """The log marginal likelihood of ``y`` at ``theta`` and its gradient (-inf where the kernel
    matrix is not positive definite)."""
    from scipy.linalg import cho_solve, cholesky

    k, dk = _kernel(theta, x, gradient)
    k[np.diag_indices_from(k)] += JITTER
    try:
        lower = cholesky(k, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return -np.inf, np.zeros_like(theta)
    alpha = cho_solve((lower, True), y, check_finite=False)
    value = float(-0.5 * y @ alpha - np.log(np.diag(lower)).sum() - len(y) / 2 * np.log(2 * np.pi))
    if dk is None:
        return value, np.zeros_like(theta)
    inner = np.outer(alpha, alpha) - cho_solve((lower, True), np.eye(len(y)), check_finite=False)
    return value, 0.5 * np.einsum("ij,jik->k", inner, dk)


@dataclass(frozen=True)
class GaussianProcess:
    """A fitted model: its log hyperparameters, the data it was conditioned on, and what predicting needs."""

    theta: np.ndarray
    x: np.ndarray
    y_mean: float
    y_std: float
    lower: np.ndarray  # Cholesky factor of k(x, x)
    alpha: np.ndarray  # k(x, x)^-1 y, y normalised
    log_marginal_likelihood: float

    @property
    def length_scales(self) -> np.ndarray:
        """One per input, in the inputs' units."""
        scales: np.ndarray = np.exp(self.theta[1:-1])
        return scales

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The predicted mean and standard deviation (noise included) at each row of ``x``."""
        from scipy.linalg import solve_triangular

        cross = _cross(self.theta, np.asarray(x, dtype=float), self.x)
        mean = (cross @ self.alpha) * self.y_std + self.y_mean
        v = solve_triangular(self.lower, cross.T, lower=True, check_finite=False)
        variance = np.exp(self.theta[0]) + np.exp(self.theta[-1]) - np.einsum("ij,ij->j", v, v)
        sd: np.ndarray = np.sqrt(np.clip(variance, 0.0, None) * self.y_std**2)
        return mean, sd

    def conditioned(self, x: np.ndarray, y: np.ndarray) -> GaussianProcess:
        """This model's hyperparameters on other data (no new fit of them)."""
        return _conditioned(self.theta, x, y, None)


def _normalised(y: np.ndarray) -> tuple[np.ndarray, float, float]:
    mean, std = float(np.mean(y)), float(np.std(y))
    std = std if std != 0.0 else 1.0
    return (y - mean) / std, mean, std


def _conditioned(theta: np.ndarray, x: np.ndarray, y: np.ndarray, likelihood: float | None) -> GaussianProcess:
    from scipy.linalg import cho_solve, cholesky

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    z, mean, std = _normalised(y)
    k, _ = _kernel(theta, x)
    k[np.diag_indices_from(k)] += JITTER
    lower = cholesky(k, lower=True, check_finite=False)
    value = _likelihood(theta, x, z, gradient=False)[0] if likelihood is None else likelihood
    return GaussianProcess(theta, x, mean, std, lower, cho_solve((lower, True), z, check_finite=False), value)


def fit(x: np.ndarray, y: np.ndarray, seed: int, restarts: int = 2) -> GaussianProcess:
    """The model of ``y`` over ``x`` (rows: jobs; columns: inputs scaled to [0, 1]).

    The hyperparameters are optimised from :data:`INITIAL`, then from ``restarts`` points drawn
    in their log bounds by ``numpy.random.RandomState(seed)``; the best optimum is kept. An
    optimum on a bound is an answer here (that input does not matter), not a warning.
    """
    from scipy.optimize import minimize

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    z, _, _ = _normalised(y)
    bounds = _bounds(x.shape[1])
    start = np.log(np.array([INITIAL[0], *[INITIAL[1]] * x.shape[1], INITIAL[2]]))
    rng = np.random.RandomState(seed)
    starts = [start, *(rng.uniform(bounds[:, 0], bounds[:, 1]) for _ in range(restarts))]

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = _likelihood(theta, x, z)
        return -value, -gradient

    optima = [minimize(objective, theta, method="L-BFGS-B", jac=True, bounds=bounds) for theta in starts]
    best = min(range(len(optima)), key=lambda i: optima[i].fun)
    return _conditioned(np.asarray(optima[best].x), x, y, -float(optima[best].fun))
