"""``lighttrack.tracking.MlflowClient`` — where MLflow code imports the client from."""

from lighttrack.client import LighttrackClient, MlflowClient

__all__ = ["LighttrackClient", "MlflowClient"]
