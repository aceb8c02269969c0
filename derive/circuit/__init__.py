"""Circuits: staged programs drawn as CS231n circuit diagrams."""
