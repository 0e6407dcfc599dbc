"""Scorers: each one reads samples and writes scores and flags."""
