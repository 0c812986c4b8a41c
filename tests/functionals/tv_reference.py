"""Independent NumPy/SciPy references for TV-regularized least squares, certified by the duality gap.

Problem: ``min_x ½‖Ax - y‖² + λ Σ_i ‖(Dx)_i‖`` with ``D`` the periodic forward differences (built here with
``np.roll``, not with the package's code) and ``AᵀA`` invertible. Its dual is
``min_{‖p_i‖ <= λ} φ(p) = ½ (b - Dᵀp)ᵀ (AᵀA)⁻¹ (b - Dᵀp)`` with ``b = Aᵀy`` and ``x = (AᵀA)⁻¹(b - Dᵀp)``;
the duality gap ``P(x) - (½‖y‖² - φ(p))`` certifies the optimum (``‖x - x*‖² <= 2 gap / σ_min(AᵀA)``). The
dual is solved by accelerated projected gradient with adaptive restart (FISTA on the dual, box constraints for
anisotropic TV, a ball per pixel for isotropic TV) in NumPy — a different algorithm from the package's ADMM
and PDHG.
"""

from __future__ import annotations

import numpy as np


def difference_matrix(shape) -> np.ndarray:
    """Rows ordered (direction, channel, *spatial) as in FiniteDifference; ``(Dx)_k = roll(x,-1,k) - x``."""
    C, *spatial = shape
    n = C * int(np.prod(spatial))
    eye = np.eye(n).reshape(n, C, *spatial)
    rows = [(np.roll(eye, -1, axis=2 + k) - eye).reshape(n, n).T for k in range(len(spatial))]
    return np.vstack(rows)


def _groups(p: np.ndarray, d: int) -> np.ndarray:
    return p.reshape(d, -1)


def primal(A, y, lam, D, d, x, isotropic) -> float:
    g = _groups(D @ x, d)
    reg = np.sqrt((g**2).sum(0)).sum() if isotropic else np.abs(g).sum()
    return 0.5 * np.sum((A @ x - y) ** 2) + lam * reg


def tv_reference(A, y, lam, shape, isotropic, num_iter=50000, gap_tol=1e-13):
    """Return ``(x, gap)`` for the TV problem above (``A`` a dense matrix, ``y`` a vector).

    FISTA on the dual with gradient-based adaptive restart (O'Donoghue and Candès, 2015), which converges
    linearly here; stops when the duality gap is below ``gap_tol`` (checked every 100 iterations).
    """
    A, y = np.asarray(A, dtype=np.float64), np.asarray(y, dtype=np.float64)
    D = difference_matrix(shape)
    d = len(shape) - 1
    M_inv = np.linalg.inv(A.T @ A)
    b = A.T @ y

    def x_of(p):
        return M_inv @ (b - D.T @ p)

    def phi(p):
        r = b - D.T @ p
        return 0.5 * r @ M_inv @ r, -D @ (M_inv @ r)

    def gap_of(p):
        return primal(A, y, lam, D, d, x_of(p), isotropic) - (0.5 * y @ y - phi(p)[0])

    m = D.shape[0]
    lip = np.linalg.eigvalsh(D @ M_inv @ D.T).max()

    def project(q):
        if not isotropic:
            return np.clip(q, -lam, lam)
        g = _groups(q, d)
        return (g / np.maximum(1.0, np.sqrt((g**2).sum(0)) / lam)).ravel()

    p = q = np.zeros(m)
    t = 1.0
    for k in range(1, num_iter + 1):
        p_new = project(q - phi(q)[1] / lip)
        if (q - p_new) @ (p_new - p) > 0:  # adaptive restart of the momentum
            t = 1.0
        t_new = (1 + np.sqrt(1 + 4 * t * t)) / 2
        q = p_new + (t - 1) / t_new * (p_new - p)
        p, t = p_new, t_new
        if k % 100 == 0 and gap_of(p) < gap_tol:
            break
    return x_of(p), gap_of(p)
