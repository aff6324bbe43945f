"""Turning what callers give us into log records and turns."""
