"""Evaluation beyond MNIST tensors: realistic uploads, hand-drawn digits, and the HTTP path."""
