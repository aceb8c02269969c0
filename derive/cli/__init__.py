"""The derive command line."""
