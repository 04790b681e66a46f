"""Using a trained model on new inputs: conversion like the training data, then prediction."""

from convlens.inference.predict import Prediction, predict
from convlens.inference.preprocess import MAX_PIXELS, InputError

__all__ = ["predict", "Prediction", "InputError", "MAX_PIXELS"]
