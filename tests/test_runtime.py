"""hoikit.runtime: torch's deterministic kernels inside ``deterministic()``, restored outside."""

import torch

from hoikit.runtime import deterministic, torch_threads


def _gather_grads(n: int = 6) -> list[torch.Tensor]:
    """Gradients of a gather with many repeated indices (the pattern of ``vertices[faces]``)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(500, 3, generator=g, requires_grad=True)
    idx = torch.randint(0, 500, (200_000,), generator=g)
    w = torch.randn(200_000, 3, generator=g)
    out = []
    for _ in range(n):
        x.grad = None
        (x[idx] * w).sum().backward()
        out.append(x.grad.clone())
    return out


def test_gather_gradients_are_bitwise_repeatable_with_two_threads():
    with torch_threads(2), deterministic():
        grads = _gather_grads()
    assert all(torch.equal(grads[0], g) for g in grads[1:])
    # same sums as float64 to float32 precision: the ordered kernel is still the right gradient
    expected = _gather_grads(1)[0].double()
    torch.testing.assert_close(grads[0].double(), expected, rtol=1e-5, atol=1e-4)


def test_deterministic_restores_the_callers_setting():
    assert not torch.are_deterministic_algorithms_enabled()
    with deterministic():
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.is_deterministic_algorithms_warn_only_enabled()
    assert not torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        with deterministic():
            pass
        assert torch.are_deterministic_algorithms_enabled()
        assert not torch.is_deterministic_algorithms_warn_only_enabled()
    finally:
        torch.use_deterministic_algorithms(False)
