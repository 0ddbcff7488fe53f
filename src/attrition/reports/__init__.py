"""Human-readable reports: self-contained HTML pages, plots and the model card."""
