"""Networks: plain ``torch.nn.Module`` s; the physics is an operator passed to the methods, never inside.

``NETWORKS`` maps the names used by ``inverselab train --model`` to the classes; every class has a
JSON-serializable ``config`` property with ``cls(**net.config)`` rebuilding the same architecture.

Example:
    >>> net = NETWORKS["dncnn"](depth=3, features=8)
    >>> NETWORKS["dncnn"](**net.config).config == net.config
    True
"""

from __future__ import annotations

from torch import nn

from .deep_decoder import ConvDecoder, DeepDecoder, deep_decoder_num_parameters
from .diffusion import DDPM, DiffusionUNet
from .dip import SkipNet, skip_net_max_scales
from .dncnn import DnCNN
from .drunet import DRUNet, noise_level_map
from .gan import DCGAN
from .gnn import GraphNet
from .lista import ALISTA, LAMP, LISTA, LISTACP, LISTACPSS
from .postprocess import INITIAL_METHODS, PostProcess
from .primal_dual import LearnedPrimalDual
from .unet import UNet
from .unrolled import MoDL, UnrolledProximalGradient
from .vae import VAE
from .varnet import SensitivityModel, VarNet

__all__ = [
    "UNet",
    "DnCNN",
    "DRUNet",
    "noise_level_map",
    "PostProcess",
    "INITIAL_METHODS",
    "LISTA",
    "LISTACP",
    "LISTACPSS",
    "ALISTA",
    "LAMP",
    "UnrolledProximalGradient",
    "MoDL",
    "LearnedPrimalDual",
    "VarNet",
    "SensitivityModel",
    "VAE",
    "DCGAN",
    "DDPM",
    "DiffusionUNet",
    "DeepDecoder",
    "ConvDecoder",
    "deep_decoder_num_parameters",
    "SkipNet",
    "skip_net_max_scales",
    "GraphNet",
    "NETWORKS",
]

NETWORKS: dict[str, type[nn.Module]] = {
    "unet": UNet,
    "dncnn": DnCNN,
    "drunet": DRUNet,
    "lista": LISTA,
    "lista-cp": LISTACP,
    "lista-cpss": LISTACPSS,
    "alista": ALISTA,
    "lamp": LAMP,
    "unrolled-pg": UnrolledProximalGradient,
    "modl": MoDL,
    "lpd": LearnedPrimalDual,
    "varnet": VarNet,
    "vae": VAE,
    "gan": DCGAN,
    "ddpm": DDPM,
    "gnn": GraphNet,
}
