"""KAM Dashboard's domain library: import, metrics, tiers, dossiers, reports."""
__version__ = "0.1.0"
