"""Seeing what a network learned: filters, feature maps, Grad-CAM, saliency, curves, errors.

Functions return arrays (for programs) and matplotlib figures (for people). Import cost:
matplotlib is loaded with this package, so ``import convlens`` loads it only when
``convlens.viz`` is first used.
"""

from convlens.viz.cam import (
    CamResult,
    class_activation_map,
    conv_layers,
    grad_cam,
    grad_cam_plus_plus,
    plot_grad_cam,
    plot_saliency,
    resolve_layer,
    saliency_map,
    upsample_linear,
)
from convlens.viz.curves import history_figure, plot_history
from convlens.viz.diagnostics import (
    confusion_matrix,
    misclassified,
    plot_confusion_matrix,
    plot_misclassified,
    predict,
)
from convlens.viz.feature_maps import feature_maps, map_mosaic, plot_feature_maps
from convlens.viz.filters import filter_mosaic, model_filters, plot_filters, plot_model_filters
from convlens.viz.overlay import Picture, overlay_heatmap, save_figure
from convlens.viz.run_folder import RunFolderError, load_run
from convlens.viz.seed003 import EDGE_KERNELS, plot_seed003, seed003_feature_maps

__all__ = [
    "CamResult", "class_activation_map", "conv_layers", "grad_cam", "grad_cam_plus_plus",
    "plot_grad_cam", "plot_saliency", "resolve_layer", "saliency_map", "upsample_linear",
    "plot_history", "history_figure", "confusion_matrix", "misclassified", "plot_confusion_matrix",
    "plot_misclassified", "predict", "feature_maps", "map_mosaic", "plot_feature_maps",
    "filter_mosaic", "model_filters", "plot_filters", "plot_model_filters", "overlay_heatmap",
    "save_figure", "Picture", "RunFolderError", "load_run", "EDGE_KERNELS", "plot_seed003",
    "seed003_feature_maps",
]
