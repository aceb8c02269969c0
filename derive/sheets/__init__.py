"""Sheets: printable derivation sheets, worksheets and keys."""
