import torch

from inverselab.operators import Identity, LinearOperator

from ..registry import Case, register


class _Matrix(LinearOperator):
    """A dense matrix as an operator, to test the algebra against plain matrix products."""

    def __init__(self, M: torch.Tensor):
        super().__init__((M.shape[1],), (M.shape[0],))
        self.register_buffer("M", M)
        self.in_complex = self.out_complex = M.is_complex()

    def forward(self, x):
        return x.to(torch.promote_types(x.dtype, self.M.dtype)) @ self.M.to(x.dtype).T

    def adjoint(self, y):
        return y @ self.M.to(y.dtype).conj()


@register(Identity)
def identity():
    return Case(Identity((1, 3, 4)), dense=torch.eye(12, dtype=torch.float64))


@register(Identity, name="identity-complex")
def identity_complex():
    return Case(Identity((5,), complex=True), dense=torch.eye(5, dtype=torch.complex128))


def matrix(m=4, n=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    M = torch.randn(m, n, dtype=torch.float64, generator=g)
    return _Matrix(M), M
