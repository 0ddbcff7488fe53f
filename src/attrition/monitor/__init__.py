"""Monitoring: drift, realised and estimated performance, latency, and the retraining job."""
