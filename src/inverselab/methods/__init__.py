"""Reconstruction methods: every one is called ``method(y, A)`` and returns ``x`` of ``A``'s input shape.

The registry below is a table of records, resolved lazily (``"module:function"``), so listing methods is
instant and adding one is one entry. ``get_method(name, **params)`` returns the callable with its parameters
bound.

Example:
    >>> import torch
    >>> from inverselab.operators import Identity
    >>> method = get_method("adjoint")
    >>> method(torch.ones(1, 1, 2, 2), Identity((1, 2, 2))).shape
    torch.Size([1, 1, 2, 2])
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["MethodInfo", "METHODS", "get_method", "list_methods"]


@dataclass(frozen=True)
class MethodInfo:
    """A registered reconstruction method.

    Attributes:
        name: Lowercase hyphenated name used by ``solve``, ``bench`` and ``list methods``.
        target: ``"module:function"`` of the implementation, ``function(y, A, **params) -> x``.
        description: One line for ``inverselab list methods``.
        family: ``"direct"``, ``"variational"``, ``"message-passing"``, ...
        citation: Reference for a published method (empty for textbook ones).
        iterative: Whether the function takes ``progress`` (and shows a progress bar).
        posterior: Whether the method draws posterior samples: it takes ``num_samples`` and
            ``return_samples`` (``inverselab solve --num-samples K`` saves their mean and standard deviation).
    """

    name: str
    target: str
    description: str
    family: str
    citation: str = ""
    iterative: bool = False
    posterior: bool = False

    def load(self) -> Callable[..., Any]:
        module, function = self.target.split(":")
        return getattr(importlib.import_module(module), function)


_C = "inverselab.methods.classical"
_R = "inverselab.methods.phase_retrieval"
_S = "inverselab.methods.signals"
_P = "inverselab.methods.pnp"
_L = "inverselab.methods.learned"
_G = "inverselab.methods.generative"
_U = "inverselab.methods.untrained"
_K = "inverselab.methods.community"
METHODS: dict[str, MethodInfo] = {
    m.name: m
    for m in [
        MethodInfo(
            "adjoint",
            f"{_C}:adjoint",
            "Adjoint A^H y, scaled by the scalar that best fits the data (a naive baseline)",
            "direct",
        ),
        MethodInfo(
            "zero-filled",
            f"{_C}:zero_filled",
            "MRI: inverse FFT of the zero-filled k-space (root-sum-of-squares over coils), magnitude",
            "direct",
        ),
        MethodInfo(
            "fbp",
            f"{_C}:fbp",
            "CT: filtered back-projection (Ram-Lak, Shepp-Logan, cosine or Hann filter)",
            "direct",
            "Kak & Slaney, Principles of Computerized Tomographic Imaging, 1988",
        ),
        MethodInfo(
            "tikhonov-cg",
            f"{_C}:tikhonov_cg",
            "Tikhonov: min ||Ax-y||^2/2 + lam ||x||^2/2 by conjugate gradients",
            "variational",
            "Hestenes & Stiefel 1952; Tikhonov 1963",
            iterative=True,
        ),
        MethodInfo(
            "ista-wavelet",
            f"{_C}:ista_wavelet",
            "ISTA for min ||Ax-y||^2/2 + lam ||W x||_1, W an orthonormal Daubechies wavelet",
            "variational",
            "Daubechies, Defrise & De Mol, CPAM 2004",
            iterative=True,
        ),
        MethodInfo(
            "fista-dct",
            f"{_C}:fista_dct",
            "FISTA for min ||Ax-y||^2/2 + lam ||D x||_1, D the orthonormal 2-D DCT (Lasso-DCT)",
            "variational",
            "Beck & Teboulle, SIAM J. Imaging Sci. 2009",
            iterative=True,
        ),
        MethodInfo(
            "fista-wavelet",
            f"{_C}:fista_wavelet",
            "FISTA for min ||Ax-y||^2/2 + lam ||W x||_1, W an orthonormal Daubechies wavelet",
            "variational",
            "Beck & Teboulle, SIAM J. Imaging Sci. 2009",
            iterative=True,
        ),
        MethodInfo(
            "ista-l1",
            f"{_C}:ista_l1",
            "ISTA for the LASSO min ||Ax-y||^2/2 + lam ||x||_1 (sparse vectors)",
            "variational",
            "Daubechies, Defrise & De Mol, CPAM 2004",
            iterative=True,
        ),
        MethodInfo(
            "fista-l1",
            f"{_C}:fista_l1",
            "FISTA for the LASSO min ||Ax-y||^2/2 + lam ||x||_1 (sparse vectors)",
            "variational",
            "Beck & Teboulle, SIAM J. Imaging Sci. 2009",
            iterative=True,
        ),
        MethodInfo(
            "tv-pdhg",
            f"{_C}:tv_pdhg",
            "Total variation: min ||Ax-y||^2/2 + lam TV(x) by primal-dual hybrid gradient (no inner loop)",
            "variational",
            "Rudin, Osher & Fatemi 1992; Chambolle & Pock, JMIV 2011",
            iterative=True,
        ),
        MethodInfo(
            "tv-admm",
            f"{_C}:tv_admm",
            "Total variation by ADMM (z = grad x); exact FFT x-update for blur/denoising, CG otherwise",
            "variational",
            "Goldstein & Osher, SIAM J. Imaging Sci. 2009",
            iterative=True,
        ),
        MethodInfo(
            "amp",
            f"{_C}:amp",
            "Approximate message passing with soft thresholding and Onsager correction (Gaussian A)",
            "message-passing",
            "Donoho, Maleki & Montanari, PNAS 2009",
            iterative=True,
        ),
        MethodInfo(
            "admm-l1",
            f"{_S}:admm_l1",
            "ADMM for the LASSO min ||Ax-y||^2/2 + lam ||x||_1 (x = z splitting, CG x-update)",
            "variational",
            "Boyd, Parikh, Chu, Peleato & Eckstein, Found. Trends Mach. Learn. 2011",
            iterative=True,
        ),
        # Phase retrieval: A is a MagnitudeSquared model, y the intensities |Bx|^2.
        MethodInfo(
            "spectral-init",
            f"{_R}:spectral",
            "Phase retrieval: leading eigenvector of (1/m) sum y_r a_r a_r^H by power iteration, scaled",
            "direct",
            "Netrapalli, Jain & Sanghavi, NeurIPS 2013; Candes, Li & Soltanolkotabi, IEEE TIT 2015",
        ),
        MethodInfo(
            "wf",
            f"{_R}:wf",
            "Phase retrieval: Wirtinger flow, gradient descent on the intensity loss from the spectral start",
            "variational",
            "Candes, Li & Soltanolkotabi, IEEE Trans. Inf. Theory 61(4), 2015",
            iterative=True,
        ),
        MethodInfo(
            "gerchberg-saxton",
            f"{_R}:gerchberg_saxton",
            "Phase retrieval: alternating projections (error reduction) from the spectral start",
            "variational",
            "Gerchberg & Saxton, Optik 1972; Fienup, Appl. Opt. 1982",
            iterative=True,
        ),
        MethodInfo(
            "pnp-wf",
            f"{_R}:pnp_wf",
            "Phase retrieval of real images: Wirtinger-flow steps, each followed by a denoiser (TV, DRUNet)",
            "plug-and-play",
            "Venkatakrishnan et al. 2013; Metzler, Schniter, Veeraraghavan & Baraniuk, ICML 2018 (prDeep)",
            iterative=True,
        ),
        MethodInfo(
            "deep-decoder-pr",
            f"{_R}:deep_decoder_pr",
            "Phase retrieval of real images: an untrained Deep Decoder fitted to the measured amplitudes",
            "untrained",
            "Heckel & Hand, ICLR 2019; Jagatap & Hegde, NeurIPS 2019",
            iterative=True,
        ),
        MethodInfo(
            "pnp-fista",
            f"{_P}:pnp_fista",
            "Plug-and-play FISTA: x <- D(z - step A^H(Az - y), sigma) with momentum; any denoiser (wavelet)",
            "plug-and-play",
            "Venkatakrishnan, Bouman & Wohlberg, GlobalSIP 2013; Kamilov, Mansour & Wohlberg, IEEE SPL 2017",
            iterative=True,
        ),
        MethodInfo(
            "pnp-admm",
            f"{_P}:pnp_admm",
            "Plug-and-play ADMM: the z-update is a denoiser D(x + u, sigma); any denoiser (wavelet)",
            "plug-and-play",
            "Venkatakrishnan, Bouman & Wohlberg, GlobalSIP 2013",
            iterative=True,
        ),
        MethodInfo(
            "hqs",
            f"{_P}:hqs",
            "Half-quadratic splitting with a decreasing denoiser noise-level schedule (DPIR); any denoiser",
            "plug-and-play",
            "Zhang, Li, Zuo, Zhang, Van Gool & Timofte, IEEE TPAMI 2021",
            iterative=True,
        ),
        MethodInfo(
            "red",
            f"{_P}:red",
            "Regularization by denoising: gradient steps on ||Ax-y||^2/2 + lam x^T(x - D(x))/2; any denoiser",
            "plug-and-play",
            "Romano, Elad & Milanfar, SIAM J. Imaging Sci. 2017",
            iterative=True,
        ),
        MethodInfo(
            "drunet",
            f"{_L}:drunet",
            "Learned denoiser: the shipped DRUNet (one network for sigma in [0, 50/255]) applied to y",
            "learned",
            "Zhang, Li, Zuo, Zhang, Van Gool & Timofte, IEEE TPAMI 2021",
        ),
        MethodInfo(
            "unet",
            f"{_L}:unet",
            "Post-processing U-Net after the direct method (FBPConvNet): x0 + U(x0); weights per preset",
            "learned",
            "Jin, McCann, Froustey & Unser, IEEE Trans. Image Process. 2017; Ronneberger et al., MICCAI 2015",
        ),
        MethodInfo(
            "sparse-coder",
            f"{_L}:sparse_coder",
            "Learned sparse coding for a fixed matrix: LISTA, LISTA-CP, LISTA-CPSS, ALISTA or LAMP weights",
            "learned",
            "Gregor & LeCun 2010; Chen et al. NeurIPS 2018; Liu et al. ICLR 2019; Borgerding et al. 2017",
        ),
        MethodInfo(
            "lista",
            f"{_L}:lista",
            "LISTA: learned ISTA with untied matrices and thresholds for a fixed matrix (trained weights)",
            "learned",
            "Gregor & LeCun, ICML 2010",
        ),
        MethodInfo(
            "lista-cp",
            f"{_L}:lista_cp",
            "LISTA-CP: coupled weights x + W^T(y - Ax), learned W and thresholds; shipped tied weights (from "
            "the analytic weight) for cs-sparse-250x500",
            "learned",
            "Chen, Liu, Wang & Yin, NeurIPS 2018; Liu, Chen, Wang & Yin, ICLR 2019 (tied, analytic start)",
        ),
        MethodInfo(
            "lista-cpss",
            f"{_L}:lista_cpss",
            "LISTA-CPSS: LISTA-CP with support selection; shipped tied weights for cs-sparse-250x500",
            "learned",
            "Chen, Liu, Wang & Yin, NeurIPS 2018; Liu, Chen, Wang & Yin, ICLR 2019 (tied)",
        ),
        MethodInfo(
            "alista",
            f"{_L}:alista",
            "ALISTA: analytic weight, only steps and thresholds learned; shipped for cs-sparse-250x500",
            "learned",
            "Liu, Chen, Wang & Yin, ICLR 2019",
        ),
        MethodInfo(
            "lamp",
            f"{_L}:lamp",
            "Learned AMP: AMP with a learned matrix and thresholds; shipped for cs-sparse-250x500",
            "learned",
            "Borgerding, Schniter & Rangan, IEEE Trans. Signal Process. 65(16), 2017",
        ),
        MethodInfo(
            "unrolled-pg",
            f"{_L}:unrolled_pg",
            "Unrolled proximal gradient: learned step sizes and CNN proximal steps (trained weights)",
            "learned",
            "Adler & Oktem, Inverse Problems 33(12), 2017 (learned gradient schemes)",
        ),
        MethodInfo(
            "modl",
            f"{_L}:modl",
            "MoDL: a shared CNN denoiser alternated with CG data consistency (trained weights)",
            "learned",
            "Aggarwal, Mani & Jacob, IEEE TMI 38(2), 2019",
        ),
        MethodInfo(
            "lpd",
            f"{_L}:lpd",
            "Learned primal-dual: CNN updates in image and measurement space with A, A^T inside (trained)",
            "learned",
            "Adler & Oktem, IEEE TMI 37(6), 2018",
        ),
        MethodInfo(
            "varnet",
            f"{_L}:varnet",
            "E2E VarNet, multi-coil MRI: k-space cascades, U-Net refiners, estimated coil maps (trained)",
            "learned",
            "Sriram et al., MICCAI 2020",
        ),
        MethodInfo(
            "csgm-vae",
            f"{_G}:csgm_vae",
            "CSGM: the best VAE-decoder code for y over random restarts (shipped digits VAE, 32 px)",
            "generative",
            "Bora, Jalal, Price & Dimakis, ICML 2017",
            iterative=True,
        ),
        MethodInfo(
            "csgm-gan",
            f"{_G}:csgm_gan",
            "CSGM with a DCGAN generator over random restarts (shipped digits GAN, 32 px)",
            "generative",
            "Bora, Jalal, Price & Dimakis, ICML 2017; Radford, Metz & Chintala, ICLR 2016 (DCGAN)",
            iterative=True,
        ),
        MethodInfo(
            "dps",
            f"{_G}:dps",
            "Diffusion posterior sampling: DDPM steps + a normalized gradient step on ||y - A x0(z_t)||",
            "generative",
            "Chung, Kim, Mccann, Klasky & Ye, ICLR 2023",
            iterative=True,
            posterior=True,
        ),
        MethodInfo(
            "pigdm",
            f"{_G}:pigdm",
            "Pseudoinverse-guided diffusion: DDIM steps + the Gaussian likelihood score of y given z_t",
            "generative",
            "Song, Vahdat, Mardani & Kautz, ICLR 2023",
            iterative=True,
            posterior=True,
        ),
        MethodInfo(
            "deep-decoder",
            f"{_U}:deep_decoder",
            "Deep Decoder: under-parameterized untrained 1x1-conv decoder fitted to y (held-out early stop)",
            "untrained",
            "Heckel & Hand, ICLR 2019",
            iterative=True,
        ),
        MethodInfo(
            "dip",
            f"{_U}:dip",
            "Deep Image Prior: an untrained skip hourglass fitted to y (input jitter, output average)",
            "untrained",
            "Ulyanov, Vedaldi & Lempitsky, CVPR 2018",
            iterative=True,
        ),
        MethodInfo(
            "convdecoder",
            f"{_U}:convdecoder",
            "ConvDecoder: an untrained 3x3-conv decoder fitted through the (multi-coil) MRI operator",
            "untrained",
            "Darestani & Heckel, IEEE Trans. Comput. Imaging 2021",
            iterative=True,
        ),
        # Community detection: y is the graph (sparse adjacency), A a StochasticBlockModel, x the labels.
        MethodInfo(
            "spectral-adjacency",
            f"{_K}:spectral_adjacency",
            "Graphs: spectral clustering on the adjacency matrix's leading eigenvectors",
            "community",
        ),
        MethodInfo(
            "spectral-laplacian",
            f"{_K}:spectral_laplacian",
            "Graphs: spectral clustering on the normalized Laplacian's smallest eigenvectors",
            "community",
            "Shi & Malik, IEEE TPAMI 2000; Ng, Jordan & Weiss, NIPS 2001",
        ),
        MethodInfo(
            "bethe-hessian",
            f"{_K}:bethe_hessian",
            "Graphs: spectral clustering on the Bethe Hessian (r^2-1)I - rA + D, its negative eigenvalues",
            "community",
            "Saade, Krzakala & Zdeborova, NeurIPS 2014",
        ),
        MethodInfo(
            "sbm-bp",
            f"{_K}:sbm_bp",
            "Graphs: belief propagation for the stochastic block model (A's c_in, c_out), damped, parallel",
            "message-passing",
            "Decelle, Krzakala, Moore & Zdeborova, Phys. Rev. E 84, 066106 (2011)",
            iterative=True,
        ),
        MethodInfo(
            "gnn",
            f"{_K}:gnn",
            "Graphs: a trained graph network (message passing with D, A, A^2, A^4; shipped for sbm-2groups)",
            "learned",
            "Chen, Li & Bruna, ICLR 2019 (simplified: no line graph)",
        ),
    ]
}


def list_methods() -> list[str]:
    """Names of all registered methods, sorted."""
    return sorted(METHODS)


def get_method(name: str, **params: Any) -> Callable[..., Any]:
    """The method called ``name`` with ``params`` bound: ``method(y, A) -> x``.

    Raises:
        ValueError: ``name`` is not registered (the message lists the valid names).
    """
    if name not in METHODS:
        raise ValueError(f"method must be one of {', '.join(list_methods())}; got {name!r}")
    fn = METHODS[name].load()
    bound = functools.partial(fn, **params)
    functools.update_wrapper(bound, fn)
    return bound
