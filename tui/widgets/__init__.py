"""Reusable widgets: charts, the artifact preview, tables that page."""
