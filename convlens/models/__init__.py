"""The model zoo: ``get_model(name)`` builds a documented network."""

from convlens.models import fashion, lenet, resnet, seed_nets, signal, text, vgg, volume  # noqa: F401  (registers)
from convlens.models.definition import DefinitionError, load_definition, resolve_model
from convlens.models.fashion import fmnist_cnn
from convlens.models.lenet import lenet5
from convlens.models.registry import (
           available_models,
           get_model,
           model_info,
           register,
           takes_argument,
           takes_tokens,
)
from convlens.models.resnet import resnet_small
from convlens.models.seed_nets import seed_net, simple_cnn
from convlens.models.signal import cnn1d
from convlens.models.text import text_cnn
from convlens.models.vgg import vgg_small
from convlens.models.volume import cnn3d

__all__ = ["available_models", "get_model", "model_info", "register", "takes_argument", "takes_tokens",
           "lenet5", "seed_net", "simple_cnn", "vgg_small", "resnet_small", "cnn1d", "text_cnn", "cnn3d",
           "fmnist_cnn", "load_definition", "resolve_model", "DefinitionError"]
