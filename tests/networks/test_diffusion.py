"""The DDPM prior: the U-Net (shapes, config, size, learning), the schedule and transforms, and the DDPM and
DDIM samplers against an exact Gaussian prior.

The Gaussian tests plug the exact noise predictor of ``z_0 ~ N(μ, Σ)`` into :class:`DDPM`: for
``z_t = √ᾱ z_0 + √(1 - ᾱ) ε``, ``E[z_0 | z_t] = μ + √ᾱ Σ (ᾱ Σ + (1 - ᾱ) I)⁻¹ (z_t - √ᾱ μ)`` and
``ε(z_t) = (z_t - √ᾱ E[z_0 | z_t]) / √(1 - ᾱ)``. With it the samplers' only errors are the time
discretization and the Monte-Carlo error of the sample statistics.

How the tolerances are set (N samples in dimension n): the sample mean has standard error ``std / √N`` per
coordinate, so the Mahalanobis norm ``‖L⁻¹(mean - μ)‖`` (``Σ = L Lᵀ``) is about ``√(n / N)`` (0.04 for
n = 6, N = 4000); the eigenvalues of the whitened sample covariance ``L⁻¹ Ĉ L⁻ᵀ`` (all 1 when exact) spread by
about ``±2 √(n / N)`` (±0.08). On top of that, a sampler with few steps under-disperses (the DDPM kernel
``q(z_{t'} | z_t, x̂_0)`` ignores the spread of ``z_0`` given ``z_t``, more so for big steps). The asserted
brackets are the measured values (in the comments; they are deterministic for fixed seeds) with a margin
for other platforms.
"""

import json
import math

import pytest
import torch
from torch import nn

from inverselab.networks.diffusion import DDPM, DiffusionUNet, ddim_sample, ddpm_sample


# --- the exact Gaussian prior (also used by tests/solvers/test_diffusion_sampling.py) -----------------------
class GaussianEps(nn.Module):
    """The exact ``ε(z_t, t)`` of the prior ``z_0 ~ N(mu, Sigma)`` on vectors ``(B, n)``."""

    def __init__(self, mu: torch.Tensor, Sigma: torch.Tensor, alphas_cumprod: torch.Tensor):
        super().__init__()
        lam, U = torch.linalg.eigh(Sigma)
        self.register_buffer("mu", mu)
        self.register_buffer("lam", lam)
        self.register_buffer("U", U)
        self.register_buffer("ab", alphas_cumprod.clone())

    def forward(self, z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        ab = self.ab[t].to(z.dtype)[:, None]
        w = (z - ab.sqrt() * self.mu) @ self.U  # coordinates in the eigenbasis of Sigma
        x0 = self.mu + (w * ab.sqrt() * self.lam / (ab * self.lam + 1 - ab)) @ self.U.T
        return (z - ab.sqrt() * x0) / (1 - ab).sqrt()


def gaussian_model(mu: torch.Tensor, Sigma: torch.Tensor, image_range=(-1.0, 1.0)) -> DDPM:
    """A float64 DDPM (default schedule) whose network is the exact ε of ``z_0 ~ N(mu, Sigma)``."""
    model = DDPM(image_range=image_range, network=nn.Identity(), sample_shape=(mu.numel(),)).double()
    model.network = GaussianEps(mu, Sigma, model.alphas_cumprod)  # the network attribute is replaceable
    return model


def random_gaussian(n: int = 6, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A mean and a well-conditioned, correlated covariance (eigenvalues roughly 0.2 to 3)."""
    g = torch.Generator().manual_seed(seed)
    mu = 0.5 * torch.randn(n, generator=g, dtype=torch.float64)
    B = torch.randn(n, n, generator=g, dtype=torch.float64) / math.sqrt(n)
    return mu, B @ B.T + 0.2 * torch.eye(n, dtype=torch.float64)


def gaussian_fit(samples: torch.Tensor, mean: torch.Tensor, cov: torch.Tensor) -> tuple[float, float, float]:
    """``(‖L⁻¹(m̂ - mean)‖, min eig, max eig of L⁻¹ Ĉ L⁻ᵀ)`` with ``cov = L Lᵀ``: 0, 1, 1 when exact."""
    L = torch.linalg.cholesky(cov)
    d = torch.linalg.solve_triangular(L, (samples.mean(0) - mean)[:, None], upper=False)
    C = torch.cov(samples.T)
    W = torch.linalg.solve_triangular(L, torch.linalg.solve_triangular(L, C, upper=False).T, upper=False)
    eig = torch.linalg.eigvalsh(W)
    return float(torch.linalg.vector_norm(d)), float(eig.min()), float(eig.max())


# --- the network --------------------------------------------------------------------------------------------
def test_unet_output_shape_and_untrained_output_is_zero():
    net = DiffusionUNet(channels=2, widths=(8, 16, 16), attention=True)
    z = torch.randn(3, 2, 16, 24, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = net(z, torch.tensor([0, 500, 999]))
    assert out.shape == z.shape
    assert float(out.abs().max()) == 0.0  # zero-initialized output conv: ε = 0 before training


def test_unet_default_size_and_shape():
    net = DiffusionUNet()
    assert 300_000 <= net.num_parameters() <= 600_000  # 552,257
    with torch.no_grad():
        z = torch.randn(2, 1, 32, 32, generator=torch.Generator().manual_seed(0))
        assert net(z, torch.tensor([3, 700])).shape == (2, 1, 32, 32)


def test_unet_time_conditioning_and_batch_independence():
    torch.manual_seed(0)
    net = DiffusionUNet(widths=(8, 16), attention=True)
    for p in net.parameters():  # leave the zero initialization so that the output depends on the input
        nn.init.normal_(p, std=0.2)
    z = torch.randn(2, 1, 8, 8)
    with torch.no_grad():
        both = net(z, torch.tensor([10, 900]))
        one = net(z[1:], torch.tensor([900]))
        other_t = net(z[1:], torch.tensor([10]))
    torch.testing.assert_close(both[1:], one, rtol=1e-5, atol=1e-6)
    assert float((one - other_t).abs().max()) > 1e-3


def test_config_round_trips():
    net = DiffusionUNet(channels=3, widths=(8, 12), num_res_blocks=2, attention=False)
    again = DiffusionUNet(**json.loads(json.dumps(net.config)))
    assert again.config == net.config
    assert again.num_parameters() == net.num_parameters()
    model = DDPM(channels=2, image_size=16, widths=(8, 16), num_timesteps=50, image_range=(-1.0, 2.0))
    again = DDPM(**json.loads(json.dumps(model.config)))
    assert again.config == model.config
    assert again.sample_shape == (2, 16, 16)
    assert again.num_parameters() == model.num_parameters()


def test_config_refuses_a_custom_network():
    model = DDPM(network=nn.Identity(), sample_shape=(4,))
    with pytest.raises(TypeError, match="config"):
        _ = model.config


def test_training_loss_falls():
    """30 Adam steps on 16 fixed 8x8 blob images: the loss (at fixed t and noise) falls from 1.0 (the
    zero-initialized network predicts ε = 0) to about 0.17."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 8), torch.linspace(0, 1, 8), indexing="ij")
    c = torch.rand(16, 2, generator=g)
    w = 0.1 + 0.2 * torch.rand(16, 1, 1, generator=g)
    dist2 = (xx - c[:, 0, None, None]) ** 2 + (yy - c[:, 1, None, None]) ** 2
    images = torch.exp(-dist2 / (2 * w**2))[:, None]
    model = DDPM(image_size=8, widths=(8, 16), attention=True)

    def held_loss() -> float:
        with torch.no_grad():
            return sum(float(model.training_loss(images, 100 + k)) for k in range(4)) / 4

    before = held_loss()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for step in range(30):
        loss = model.training_loss(images, step)
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = held_loss()
    assert before == pytest.approx(1.0, abs=0.05)
    assert after < 0.4 * before


def test_training_loss_is_reproducible_and_checks_input():
    model = DDPM(image_size=8, widths=(8,))
    x = torch.rand(2, 1, 8, 8)
    with torch.no_grad():
        assert float(model.training_loss(x, 3)) == float(
            model.training_loss(x, torch.Generator().manual_seed(3))
        )
    with pytest.raises(ValueError, match="x must"):
        model.training_loss(torch.rand(2, 1, 8, 9), 0)


# --- schedule, transforms, steps ----------------------------------------------------------------------------
def test_schedule_transforms_and_tweedie():
    model = DDPM(image_size=8, widths=(8,), image_range=(0.0, 1.0))
    assert model.betas[0].item() == pytest.approx(1e-4) and model.betas[-1].item() == pytest.approx(0.02)
    torch.testing.assert_close(model.alphas_cumprod, torch.cumprod(1 - model.betas, 0))
    x = torch.rand(2, 1, 8, 8)
    torch.testing.assert_close(model.to_image(model.from_image(x)), x)
    assert model.from_image(torch.zeros(1)).item() == -1.0 and model.from_image(torch.ones(1)).item() == 1.0
    # the untrained U-Net predicts ε = 0, so Tweedie's estimate is z_t / √ᾱ_t
    z = torch.randn(2, 1, 8, 8)
    torch.testing.assert_close(model.predict_x0(z, 400), z / model.alphas_cumprod[400].sqrt())


def test_timesteps():
    model = DDPM(image_size=8, widths=(8,))
    assert model.timesteps() == list(range(999, -1, -1))
    assert model.timesteps(4) == [999, 666, 333, 0]
    assert model.timesteps(1) == [999]
    with pytest.raises(ValueError, match="num_steps"):
        model.timesteps(1001)
    with pytest.raises(ValueError, match="num_steps"):
        model.timesteps(0)


def test_ddim_with_eta_one_is_the_ddpm_step():
    model = DDPM(image_size=8, widths=(8,)).double()
    g = torch.Generator().manual_seed(0)
    z, x0, noise = (torch.randn(2, 4, generator=g, dtype=torch.float64) for _ in range(3))
    for t, t_prev in [(999, 666), (500, 499), (10, -1)]:
        torch.testing.assert_close(
            model.ddim_step(z, x0, t, t_prev, 1.0, noise), model.ancestral_step(z, x0, t, t_prev, noise)
        )


def test_samplers_are_reproducible_and_shaped():
    model = DDPM(image_size=8, widths=(8,), image_range=(0.0, 1.0))
    a = ddpm_sample(model, 3, 5, num_steps=4)
    b = ddpm_sample(model, 3, torch.Generator().manual_seed(5), num_steps=4)
    assert a.shape == (3, 1, 8, 8)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(a, ddpm_sample(model, 3, 6, num_steps=4))
    seen = []
    c = ddim_sample(model, 2, 0, num_steps=3, eta=0.5, callback=lambda i, x0: seen.append((i, x0.shape)))
    assert c.shape == (2, 1, 8, 8) and seen == [(0, (2, 1, 8, 8)), (1, (2, 1, 8, 8)), (2, (2, 1, 8, 8))]
    # the untrained network predicts ε = 0, so deterministic DDIM returns z_T / √ᾱ_{T-1} (no clamping) ...
    z_T = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64).float()
    out = ddim_sample(model, 2, 0, num_steps=3, eta=0.0)
    torch.testing.assert_close(
        out, model.to_image(z_T / model.alphas_cumprod[-1].sqrt()), rtol=1e-4, atol=1e-4
    )
    assert float(out.abs().max()) > 10
    # ... and clip_x0 keeps it in the image range
    clipped = ddim_sample(model, 2, 0, num_steps=3, eta=0.0, clip_x0=True)
    assert 0.0 <= float(clipped.min()) and float(clipped.max()) <= 1.0


def test_argument_errors():
    model = DDPM(image_size=8, widths=(8,))
    with pytest.raises(ValueError, match="num must"):
        ddpm_sample(model, 0)
    with pytest.raises(ValueError, match="num_steps"):
        ddpm_sample(model, 1, num_steps=2000)
    with pytest.raises(ValueError, match="num_steps"):
        ddim_sample(model, 1, num_steps=0)
    with pytest.raises(ValueError, match="eta"):
        ddim_sample(model, 1, eta=1.5)
    with pytest.raises(TypeError, match="model must be a DDPM"):
        ddpm_sample(DiffusionUNet(), 1)
    with pytest.raises(ValueError, match="image_range"):
        DDPM(image_range=(1.0, 0.0))
    with pytest.raises(ValueError, match="image_size"):
        DDPM(image_size=30)
    with pytest.raises(ValueError, match="beta_end"):
        DDPM(beta_start=0.02, beta_end=0.01)
    with pytest.raises(ValueError, match="sample_shape"):
        DDPM(network=nn.Identity())
    with pytest.raises(ValueError, match="sample_shape"):
        DDPM(sample_shape=(4,))
    with pytest.raises(ValueError, match="widths"):
        DiffusionUNet(widths=(8, 0))
    with pytest.raises(ValueError, match="divisible"):
        DiffusionUNet(widths=(8, 8, 8))(torch.zeros(1, 1, 6, 8), torch.zeros(1))
    with pytest.raises(ValueError, match="t must"):
        model.eps(torch.zeros(2, 1, 8, 8), 1000)


# --- samplers against the exact Gaussian prior --------------------------------------------------------------
N = 4000


def test_ddpm_sample_matches_the_gaussian_prior():
    # 250 respaced steps: measured Mahalanobis 0.045, whitened eigenvalues 0.89..1.02 (the smallest is
    # under-dispersion by the big steps, see the module docstring)
    mu, Sigma = random_gaussian()
    samples = ddpm_sample(gaussian_model(mu, Sigma), N, 1, num_steps=250)
    dist, lo, hi = gaussian_fit(samples, mu, Sigma)
    assert dist < 0.12
    assert 0.8 < lo and hi < 1.12


@pytest.mark.slow
def test_ddpm_sample_all_steps_matches_the_gaussian_prior():
    # all 1000 steps (~4 s): measured Mahalanobis 0.023, whitened eigenvalues 0.93..1.05
    mu, Sigma = random_gaussian()
    dist, lo, hi = gaussian_fit(ddpm_sample(gaussian_model(mu, Sigma), N, 1), mu, Sigma)
    assert dist < 0.12
    assert 0.85 < lo and hi < 1.12


@pytest.mark.parametrize(
    ("eta", "num_steps", "lo_min", "hi_max"),
    [
        (0.0, 100, 0.85, 1.12),  # deterministic DDIM; measured Mahalanobis 0.040, eigenvalues 0.92..1.02
        (1.0, 250, 0.8, 1.12),  # the DDPM step on the respaced chain; measured 0.045, 0.89..1.02
    ],
)
def test_ddim_sample_matches_the_gaussian_prior(eta, num_steps, lo_min, hi_max):
    mu, Sigma = random_gaussian()
    samples = ddim_sample(gaussian_model(mu, Sigma), N, 1, num_steps=num_steps, eta=eta)
    dist, lo, hi = gaussian_fit(samples, mu, Sigma)
    assert dist < 0.12
    assert lo_min < lo and hi < hi_max


def test_deterministic_ddim_is_a_deterministic_map():
    mu, Sigma = random_gaussian(n=4)
    model = gaussian_model(mu, Sigma)
    a = ddim_sample(model, 5, 0, num_steps=20, eta=0.0)
    b = ddim_sample(model, 5, 0, num_steps=20, eta=0.0)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
