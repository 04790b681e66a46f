"""Command-line commands beyond `train`, registered on the `convlens` group in convlens/cli.py."""
