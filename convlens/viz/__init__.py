"""Pictures of what a network does and how it learned."""

from convlens.viz.curves import plot_history

__all__ = ["plot_history"]
