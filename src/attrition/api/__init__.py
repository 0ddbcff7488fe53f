"""The prediction API: FastAPI app, one router per resource."""
