"""The learned optimizer's numpy forward pass is the torch policy it was trained as.

Weights go through the real export (``PolicyNet.export``, what ``LearnedOptimizer.fit``
stores in ``weights_``); the numpy side is ``LearnedOptimizer._gru`` and ``_head``, what a
run calls at inference.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from metaopt.learn import LearnedOptimizer
from metaopt.learn._optimizer import _Layout, _PolicyNet

HIDDEN = 16
STEPS = 8


@pytest.fixture(scope="module")
def policy(pool):
    """A freshly initialised torch policy for the synthetic KB's encoder, and its numpy twin."""
    torch.manual_seed(0)
    net = _PolicyNet(pool.encoder.n_metafeatures, _Layout.of(pool.encoder), HIDDEN)
    opt = LearnedOptimizer(hidden_size=HIDDEN)
    opt.weights_ = net.export()
    return net, opt


def test_numpy_gru_matches_torch_grucell_over_several_steps(policy) -> None:
    net, opt = policy
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(STEPS, net.gru.input_size))
    h_np = np.tanh(rng.normal(size=HIDDEN))
    h_t = torch.as_tensor(h_np, dtype=torch.float32)[None, :]
    with torch.no_grad():
        for step, x in enumerate(xs):
            h_np = opt._gru(x, h_np)
            h_t = net.gru(torch.as_tensor(x, dtype=torch.float32)[None, :], h_t)
            np.testing.assert_allclose(
                h_np, h_t[0].numpy(), rtol=0, atol=1e-5, err_msg=f"hidden state at step {step}"
            )
    assert np.abs(h_np).max() > 0.1  # the state moved: the comparison was not of zeros


def test_numpy_head_matches_torch(policy) -> None:
    net, opt = policy
    h = np.tanh(np.random.default_rng(1).normal(size=(4, HIDDEN)))
    with torch.no_grad():
        want = net.head(torch.as_tensor(h, dtype=torch.float32)).numpy()
    for i in range(len(h)):
        np.testing.assert_allclose(opt._head(h[i]), want[i], rtol=0, atol=1e-5)
