"""The Gaussian process ``suggest`` fits (learn/gp.py) is scikit-learn's model, without scikit-learn.

Held against scikit-learn's ``GaussianProcessRegressor`` (a dependency of ``res.effects``) with
the same kernel, bounds, normalisation and restarts, over random histories: the same log
marginal likelihood and gradient at any hyperparameters, the same optimum, the same predictions.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _service import RunningService
from infinityframe.learn import gp

sklearn_gp = pytest.importorskip("sklearn.gaussian_process")
kernels = pytest.importorskip("sklearn.gaussian_process.kernels")


def _reference(x: np.ndarray, y: np.ndarray, seed: int, restarts: int = 2) -> object:
    kernel = (kernels.ConstantKernel(1.0, (1e-3, 1e3))
              * kernels.Matern(np.full(x.shape[1], 0.5), (1e-2, 1e2), nu=2.5)
              + kernels.WhiteKernel(1e-2, (1e-6, 1.0)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an optimum on a bound
        return sklearn_gp.GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=restarts,
                                                   random_state=seed).fit(x, y)


def _history(seed: int, jobs: int, inputs: int, rounded: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(jobs, inputs))
    y = 40 * np.sin(5 * x[:, 0]) + 10 * x[:, -1] + rng.normal(0, 2, jobs)
    return x, (np.round(y / 20) * 20 if rounded else y)  # rounded: many tied outcomes, as shares in view are


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), jobs=st.integers(4, 48), inputs=st.integers(1, 4), rounded=st.booleans())
def test_the_same_model_as_scikit_learn(seed: int, jobs: int, inputs: int, rounded: bool) -> None:
    x, y = _history(seed, jobs, inputs, rounded)
    ours, theirs = gp.fit(x, y, seed), _reference(x, y, seed)

    # the likelihood and its gradient at scikit-learn's optimum: the same function
    theta = theirs.kernel_.theta
    value, gradient = theirs.log_marginal_likelihood(theta, eval_gradient=True)
    z = (y - y.mean()) / (y.std() or 1.0)
    our_value, our_gradient = gp._likelihood(theta, x, z)
    assert our_value == pytest.approx(value, rel=1e-9, abs=1e-9)
    np.testing.assert_allclose(our_gradient, gradient, rtol=1e-7, atol=1e-7)

    # an optimum as good as scikit-learn's
    assert ours.log_marginal_likelihood == pytest.approx(theirs.log_marginal_likelihood_value_, rel=1e-6, abs=1e-6)
    # the same predictions with their uncertainty as scikit-learn's at our hyperparameters
    queries = np.random.default_rng(seed + 1).uniform(size=(25, inputs))
    mean, sd = ours.predict(queries)
    at_ours = sklearn_gp.GaussianProcessRegressor(theirs.kernel_.clone_with_theta(ours.theta), normalize_y=True,
                                                  optimizer=None).fit(x, y)
    their_mean, their_sd = at_ours.predict(queries, return_std=True)
    scale = max(1.0, float(np.ptp(y)))
    np.testing.assert_allclose(mean, their_mean, atol=1e-6 * scale)
    np.testing.assert_allclose(sd, their_sd, atol=1e-6 * scale)
    # and at scikit-learn's own optimum, where it is the same point: a few jobs can leave the
    # likelihood flat along the noise level (4 jobs: two optima 3e-7 apart in likelihood, their
    # noise levels e^-5.97 and e^-5.30), and there equally good optima predict differently
    if np.allclose(ours.theta, theirs.kernel_.theta, atol=1e-3):
        np.testing.assert_allclose(mean, theirs.predict(queries), atol=1e-4 * scale)


def test_conditioning_keeps_the_scales_as_scikit_learn_does() -> None:
    """The kriging believer: the fitted scales on more data, with no new fit of them."""
    x, y = _history(3, 20, 3, False)
    ours, theirs = gp.fit(x, y, 3), _reference(x, y, 3)
    more_x = np.vstack([x, np.full((1, 3), 0.5)])
    more_y = np.append(y, 7.0)
    believed = ours.conditioned(more_x, more_y)
    reference = sklearn_gp.GaussianProcessRegressor(theirs.kernel_, normalize_y=True, optimizer=None).fit(more_x,
                                                                                                          more_y)
    np.testing.assert_allclose(believed.theta, ours.theta)
    queries = np.random.default_rng(0).uniform(size=(10, 3))
    np.testing.assert_allclose(believed.predict(queries)[0], reference.predict(queries), atol=1e-3)
    np.testing.assert_allclose(believed.predict(queries)[1], reference.predict(queries, return_std=True)[1],
                               atol=1e-3)


def test_a_constant_history_and_no_inputs() -> None:
    """Edge cases a sweep meets: every outcome the same (nothing to normalise by), and no modelled input."""
    x, _ = _history(0, 8, 2, False)
    flat = gp.fit(x, np.full(8, 100.0), 0)
    mean, sd = flat.predict(x[:3])
    np.testing.assert_allclose(mean, 100.0)
    assert np.isfinite(sd).all()
    none = gp.fit(np.empty((6, 0)), np.arange(6.0), 0)
    mean, _ = none.predict(np.empty((2, 0)))
    np.testing.assert_allclose(mean, 2.5, atol=0.5)  # the mean of what was seen, give or take the fitted level


def test_suggesting_does_not_import_scikit_learn(service: RunningService, owner: str) -> None:
    """A script that suggests (in a process of its own, against the service) pays for numpy and
    scipy's optimiser, not for scikit-learn or scipy.stats."""
    code = (
        "import sys, infinityframe as inf\n"
        "sesh = inf.Session(None, 'stickfit-v0.1.0')\n"
        "small = dict(num_reps=1, frame_rate=6, image_width=128, image_height=128)\n"
        "history = sesh.sample(12, seed=0, **small)\n"
        "history['score'] = -(history.camera_distance - 3) ** 2\n"
        "nxt = sesh.suggest(2, history, 'score', seed=0, preview=True, **small)\n"
        "print(len(nxt), 'sklearn' in sys.modules, 'scipy.stats' in sys.modules)\n"
    )
    env = {**os.environ, "INFINITY_TOKEN": owner, "INFINITY_SERVER": service.url}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2", "False", "False"]
