"""The dashboard's routes: ``auth`` (sign in and out), ``pages`` (HTML) and ``data`` (GeoJSON, tiles, files)."""
