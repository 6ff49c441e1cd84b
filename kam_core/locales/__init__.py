"""The words and number formats of each language: the label catalogue and its lookup, and locale-aware formatting."""
