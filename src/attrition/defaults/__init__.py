"""Default configuration files shipped with the package."""
