"""Core: the rule table (one row per primitive) and what is built from it."""
