"""Streamlit render functions shared by pages (the only package below pages that imports streamlit)."""
