"""Employee attrition prediction with a gated MLflow lifecycle."""

__version__ = "0.1.0"
