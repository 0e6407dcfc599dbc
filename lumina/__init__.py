"""Lumina: synthetic fine-tuning data for small language models."""
__version__ = "0.1.0"
