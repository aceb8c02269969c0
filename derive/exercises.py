"""Learners' entry point to the exercises: ``from derive.exercises import check, my_values``.

The teaching layer lives in ``derive.teach``; this module is the short public name that exercise
templates, notebooks and the README use.
"""
from derive.teach.exercises import EXERCISES, Exercise, Key, check, get, my_values

__all__ = ["check", "my_values", "get", "EXERCISES", "Exercise", "Key"]
