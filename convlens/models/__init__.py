"""The model zoo: ``get_model(name)`` builds a documented network."""

from convlens.models import lenet, seed_nets  # noqa: F401  (registers the models)
from convlens.models.lenet import lenet5
from convlens.models.registry import available_models, get_model, model_info, register
from convlens.models.seed_nets import seed_net, simple_cnn

__all__ = ["available_models", "get_model", "model_info", "register", "lenet5", "seed_net",
           "simple_cnn"]
