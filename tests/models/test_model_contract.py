"""Every registered model keeps the model contract (lowlight.models.base): shapes, training outputs, attributes."""

from __future__ import annotations

import pytest
import torch

import lowlight
from lowlight.models.base import AUX_NAMES, EnhancementModel, ForeignModel, TrainOutput, as_enhancement_model

SMALL = {"darkir_m": {"width": 8}, "darkir_l": {"width": 8}, "fsidnet": {"width": 4}, "fsidnet_s": {"width": 4}}


@pytest.fixture(params=lowlight.list_models())
def model(request) -> tuple[str, EnhancementModel]:
    return request.param, lowlight.create_model(request.param, **SMALL.get(request.param, {}))


def test_models_keep_the_contract_at_odd_sizes(model):
    name, net = model
    assert isinstance(net, EnhancementModel), name
    assert net.pad_multiple >= 1 and net.inference_bytes_per_pixel > 0 and net.export_tolerance > 0
    assert set(net.aux_outputs) <= AUX_NAMES
    x = torch.rand(2, 3, 19, 27)
    with torch.no_grad():
        out = net(x)
    assert out.shape == x.shape and torch.isfinite(out).all()


def test_forward_train_gives_the_declared_auxiliary_outputs_and_finite_gradients(model):
    name, net = model
    x = torch.rand(1, 3, 24, 32)
    result = net.train().forward_train(x)
    assert isinstance(result, TrainOutput) and result.out.shape == x.shape
    assert set(result.aux) == set(net.aux_outputs), name
    parameters = [p for p in net.parameters() if p.requires_grad]
    if not parameters:
        return  # classical baselines learn nothing
    loss = result.out.mean() + sum(v.float().mean() for v in result.aux.values())
    loss.backward()
    grads = [p.grad for p in parameters if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


def test_foreign_modules_join_the_contract_with_its_defaults():
    wrapped = as_enhancement_model(torch.nn.Identity())
    assert isinstance(wrapped, ForeignModel) and wrapped.pad_multiple == 1
    x = torch.rand(1, 3, 8, 8)
    assert torch.equal(wrapped.forward_train(x).out, x) and wrapped.forward_train(x).aux == {}
    darkir = lowlight.create_model("darkir_m", width=8)
    assert as_enhancement_model(darkir) is darkir
