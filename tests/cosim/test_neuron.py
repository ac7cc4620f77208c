"""IFNeuron validation and the transfer curve."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from cosim.neuron import IFNeuron, apply_transfer


@pytest.mark.parametrize(("kwargs", "field"), [
    (dict(threshold=0.0), "threshold"),
    (dict(threshold=float("nan")), "threshold"),
    (dict(threshold=torch.tensor([1.0, -1.0])), "threshold"),
    (dict(gain=-1.0), "gain"),
    (dict(gain=torch.tensor([float("inf")])), "gain"),
    (dict(lower_bound=0.5), "lower_bound"),
    (dict(lower_bound=float("-inf")), "lower_bound"),
    (dict(reset="hold"), "reset"),
    (dict(refractory_steps=-1), "refractory_steps"),
    (dict(refractory_steps=1.5), "refractory_steps"),
    (dict(transfer=(torch.tensor([0.0, 0.0]), torch.tensor([0.0, 1.0]))), "increasing"),
    (dict(transfer=(torch.tensor([0.0, 1.0]), torch.tensor([1.0, 0.0]))), "monotone"),
    (dict(transfer=(torch.tensor([0.0]), torch.tensor([1.0]))), "length"),
])
def test_bad_fields_are_named(kwargs, field):
    with pytest.raises(ValueError, match=field):
        IFNeuron(**kwargs)


def test_frozen_and_ideal():
    n = IFNeuron()
    assert n.is_ideal and n.lower_bound is None and n.reset == "subtract"
    with pytest.raises(dataclasses.FrozenInstanceError):
        n.threshold = 2.0  # type: ignore[misc]
    assert not IFNeuron(gain=torch.ones(3)).is_ideal


def test_transfer_interpolates_and_extrapolates_linearly():
    xs, ys = torch.tensor([0.0, 1.0, 3.0]), torch.tensor([0.0, 2.0, 3.0])
    x = torch.tensor([-1.0, 0.0, 0.5, 1.0, 2.0, 3.0, 5.0])
    assert apply_transfer(x, xs, ys).tolist() == [-2.0, 0.0, 1.0, 2.0, 2.5, 3.0, 4.0]
