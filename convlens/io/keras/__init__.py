"""Keras in: ``.keras`` (Keras 3), legacy ``.h5`` and TensorFlow.js layers-models.

``cl.load`` dispatches here through :mod:`convlens.io.formats`; the readers are
:func:`convlens.io.keras.keras_file.load_keras`, :func:`convlens.io.keras.h5.load_h5` and
:func:`convlens.io.keras.tfjs.load_tfjs`. All three hand a Keras model config and the layers'
weights to :func:`convlens.io.keras.model.build_model`, which converts each layer through
the registry in :mod:`convlens.io.keras.layers` (channels-last to channels-first).
Keras itself is never imported: the files are read as JSON, zip and HDF5 (h5py).
"""
