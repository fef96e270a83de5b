"""The torch modules: forward formulas by hand, initializers, parameter names, errors."""

from __future__ import annotations

import math

import pytest
import torch

from embedlab.nn import GeneratorDropout, MFModule, NeuralModule


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _set(table: torch.nn.Module, rows: list[list[float]]) -> None:
    with torch.no_grad():
        table.weight.copy_(torch.tensor(rows))


def _mf_tiny(**options) -> MFModule:
    m = MFModule(2, 3, 2, **options)
    _set(m.user_embedding, [[1.0, 2.0], [-1.0, 0.5]])
    _set(m.item_embedding, [[0.5, 1.0], [2.0, -1.0], [0.0, 3.0]])
    if m.user_bias is not None:
        _set(m.user_bias, [[0.1], [-0.2]])
    if m.item_bias is not None:
        _set(m.item_bias, [[0.3], [0.0], [-0.4]])
    if m.global_bias is not None:
        with torch.no_grad():
            m.global_bias.fill_(3.5)
    return m


def test_mf_forward_by_hand() -> None:
    m = _mf_tiny()
    u, i = torch.tensor([0, 1, 0]), torch.tensor([0, 1, 2])
    # μ + b_u + b_i + p_u·q_i
    expected = [
        3.5 + 0.1 + 0.3 + (1 * 0.5 + 2 * 1.0),  # 6.4
        3.5 - 0.2 + 0.0 + (-1 * 2.0 + 0.5 * -1.0),  # 0.8
        3.5 + 0.1 - 0.4 + (1 * 0.0 + 2 * 3.0),  # 9.2
    ]
    assert m(u, i).tolist() == pytest.approx(expected)


def test_mf_plain_dot_product_and_squash() -> None:
    m = _mf_tiny(user_bias=False, item_bias=False, global_bias=False)
    assert list(m.state_dict()) == ["user_embedding.weight", "item_embedding.weight"]
    assert m(torch.tensor([1]), torch.tensor([1])).item() == pytest.approx(-2.5)
    s = _mf_tiny(user_bias=False, item_bias=False, global_bias=False, squash=(1, 5))
    raw = -2.5
    assert s(torch.tensor([1]), torch.tensor([1])).item() == pytest.approx(
        1 + 4 / (1 + math.exp(-raw))
    )


def test_mf_state_dict_names_and_shapes() -> None:
    m = MFModule(7, 5, 4, generator=_gen())
    shapes = {k: tuple(v.shape) for k, v in m.state_dict().items()}
    assert shapes == {
        "user_embedding.weight": (7, 4),
        "item_embedding.weight": (5, 4),
        "user_bias.weight": (7, 1),
        "item_bias.weight": (5, 1),
        "global_bias": (),
    }
    assert all(v.dtype == torch.float32 for v in m.state_dict().values())
    assert m.user_bias.weight.abs().sum() == 0 and m.global_bias.item() == 0
    assert m.user_embedding.sparse


def test_mf_unequal_widths_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="same width"):
        MFModule(3, 3, (8, 16))
    assert MFModule(3, 3, (8, 8)).embedding_dim == 8


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"init": "uniform"}, "init="),
        ({"init_std": 0}, "init_std"),
        ({"squash": (5, 1)}, "low < high"),
        ({"squash": "yes"}, "squash"),
        ({"embedding_dim": 0}, "embedding_dim"),
    ],
)
def test_mf_bad_options(options, match) -> None:
    with pytest.raises(ValueError, match=match):
        MFModule(3, 3, **options)


def test_initializers_follow_the_generator_and_the_formula() -> None:
    a = MFModule(500, 300, 16, init="normal", init_std=0.05, generator=_gen(1))
    b = MFModule(500, 300, 16, init="normal", init_std=0.05, generator=_gen(1))
    c = MFModule(500, 300, 16, init="normal", init_std=0.05, generator=_gen(2))
    assert torch.equal(a.user_embedding.weight, b.user_embedding.weight)
    assert not torch.equal(a.user_embedding.weight, c.user_embedding.weight)
    assert a.user_embedding.weight.std().item() == pytest.approx(0.05, rel=0.05)
    g = MFModule(500, 300, 16, init="glorot_uniform", generator=_gen(1))
    # Keras GlorotUniform on an Embedding [input_dim, output_dim]: fan_in = rows, fan_out = dim.
    limit = math.sqrt(6 / (500 + 16))
    w = g.user_embedding.weight
    assert w.abs().max().item() <= limit
    assert w.abs().max().item() > 0.95 * limit
    assert w.var().item() == pytest.approx(limit**2 / 3, rel=0.05)


def test_neural_forward_shape_names_and_biases() -> None:
    m = NeuralModule(6, 4, user_dim=3, item_dim=5, hidden=(7, 2), generator=_gen())
    names = {k: tuple(v.shape) for k, v in m.state_dict().items()}
    assert names == {
        "global_bias": (),
        "user_embedding.weight": (6, 3),
        "item_embedding.weight": (4, 5),
        "mlp.0.weight": (7, 8),
        "mlp.0.bias": (7,),
        "mlp.2.weight": (2, 7),
        "mlp.2.bias": (2,),
        "output.weight": (1, 2),
        "output.bias": (1,),
        "item_bias.weight": (4, 1),
    }
    u, i = torch.tensor([0, 5, 2]), torch.tensor([3, 0, 3])
    base = m(u, i)
    assert base.shape == (3,)
    with torch.no_grad():
        m.item_bias.weight[3] = 2.0
        m.global_bias.fill_(1.5)
    shifted = m(u, i)
    assert (shifted - base).tolist() == pytest.approx([3.5, 1.5, 3.5])
    # With the output layer zeroed the score is exactly μ + b_i.
    with torch.no_grad():
        m.output.weight.zero_()
    assert m(u, i).tolist() == pytest.approx([3.5, 1.5, 3.5])


def test_neural_user_bias_squash_and_no_hidden() -> None:
    m = NeuralModule(3, 3, hidden=(), user_bias=True, squash=(1, 5), generator=_gen())
    assert "user_bias.weight" in m.state_dict() and "output.weight" in m.state_dict()
    out = m(torch.tensor([0, 1, 2]), torch.tensor([0, 1, 2]))
    assert ((out > 1) & (out < 5)).all()
    with pytest.raises(ValueError, match="hidden"):
        NeuralModule(3, 3, hidden=(), dropout=0.5)
    with pytest.raises(ValueError, match="dropout"):
        NeuralModule(3, 3, dropout=1.0)


def test_generator_dropout_uses_its_generator() -> None:
    d = GeneratorDropout(0.5)
    x = torch.ones(1000)
    d.generator = _gen(3)
    a = d(x)
    d.generator = _gen(3)
    assert torch.equal(a, d(x))
    assert set(a.unique().tolist()) == {0.0, 2.0}
    d.eval()
    assert torch.equal(d(x), x)


def test_neural_dot_branch_adds_the_dot_product() -> None:
    import torch

    from embedlab.nn import NeuralModule

    gen = torch.Generator().manual_seed(0)
    plain = NeuralModule(3, 4, 2, 2, hidden=(3,), generator=gen)
    with_dot = NeuralModule(3, 4, 2, 2, hidden=(3,), dot=True)
    with_dot.load_state_dict(plain.state_dict())
    users, items = torch.tensor([0, 2]), torch.tensor([3, 1])
    p, q = plain.user_embedding(users), plain.item_embedding(items)
    expected = plain(users, items) + (p * q).sum(-1)
    torch.testing.assert_close(with_dot(users, items), expected)
    with pytest.raises(ValueError, match="needs user_dim == item_dim"):
        NeuralModule(3, 4, 2, 3, dot=True)
