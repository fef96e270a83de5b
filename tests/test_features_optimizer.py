"""The encoder's written-out AdamW and one-cycle schedule against torch's own."""

from __future__ import annotations

import pytest
import torch

from embedlab.features._training import AdamW, one_cycle


@pytest.mark.parametrize("total", [10, 37, 400])
def test_one_cycle_matches_torch_schedule(total):
    param = torch.zeros(1, requires_grad=True)
    opt = torch.optim.AdamW([param], lr=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=0.01, total_steps=total, pct_start=0.25, div_factor=10.0, final_div_factor=1e3
    )
    for step in range(total):
        group = opt.param_groups[0]
        assert one_cycle(step, total, 0.01) == (group["lr"], group["betas"][0])
        param.grad = torch.zeros(1)
        opt.step()
        sched.step()


def _net(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Embedding(30, 4), torch.nn.Flatten(), torch.nn.Linear(8, 1))


@pytest.mark.parametrize("scheduled", [True, False])
def test_adamw_matches_torch_bit_for_bit(scheduled):
    ours, theirs = _net(0), _net(0)
    groups = lambda net: (list(net[0].parameters()), list(net[2].parameters()))  # noqa: E731
    t_tables, t_rest = groups(theirs)
    ref = torch.optim.AdamW(
        [{"params": t_tables, "weight_decay": 0.3}, {"params": t_rest, "weight_decay": 0.0}],
        lr=0.02,
    )
    total = 60
    sched = (
        torch.optim.lr_scheduler.OneCycleLR(
            ref,
            max_lr=0.02,
            total_steps=total,
            pct_start=0.25,
            div_factor=10.0,
            final_div_factor=1e3,
        )
        if scheduled
        else None
    )
    o_tables, o_rest = groups(ours)
    opt = AdamW([(o_tables, 0.3), (o_rest, 0.0)], lr=0.02)
    gen = torch.Generator().manual_seed(1)
    for step in range(total):
        x = torch.randint(0, 30, (16, 2), generator=gen)
        y = torch.randn(16, 1, generator=gen)
        for net, o in ((theirs, ref), (ours, opt)):
            o.zero_grad()
            torch.nn.functional.mse_loss(net(x), y).backward()
        if scheduled:
            opt.lr, opt.beta1 = one_cycle(step, total, 0.02)
        ref.step()
        opt.step()
        if sched is not None:
            sched.step()
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert torch.equal(a, b)


def test_parameters_without_gradient_are_left_alone():
    used, unused = torch.zeros(3, requires_grad=True), torch.ones(2, requires_grad=True)
    opt = AdamW([([used, unused], 0.5)], lr=0.1)
    used.grad = torch.ones(3)
    opt.step()
    assert torch.equal(unused, torch.ones(2)) and not torch.equal(used, torch.zeros(3))


def test_an_encoder_fit_does_not_import_torch_dynamo():
    # creating a torch optimizer would import torch._dynamo (1.3-2 s a process)
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, pandas as pd\n"
        "from embedlab import EmbeddingEncoder\n"
        "X = pd.DataFrame({'c': list('abcd') * 100})\n"
        "EmbeddingEncoder(random_state=0, cv=2).fit_transform(X, np.arange(400.0))\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    assert done.stdout.strip() == "False", done.stderr
