"""``mlflow.tracking``: where MLflow code imports the client (and ``tracking.fluent``) from."""

from lighttrack.client import LighttrackClient, MlflowClient
from lighttrack.config import get_registry_uri, get_tracking_uri, is_tracking_uri_set, set_registry_uri, set_tracking_uri

__all__ = ["LighttrackClient", "MlflowClient", "get_registry_uri", "get_tracking_uri", "is_tracking_uri_set",
           "set_registry_uri", "set_tracking_uri"]
