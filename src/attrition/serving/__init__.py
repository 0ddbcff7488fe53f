"""Serving the champion model: fast scoring, request schemas, model lifecycle, prediction log."""
