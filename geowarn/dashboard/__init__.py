"""The geologists' map dashboard: a FastAPI application over :class:`geowarn.Workspace`, behind login.

Modules: ``users`` (accounts, roles, argon2 hashes), ``sessions`` (signed-in browsers, CSRF tokens,
login throttling), ``mapdata`` (GeoJSON of sites and cracks), ``tiles`` (orthomosaic and probability
map tiles with rio-tiler), ``plots`` (crack history charts), ``app`` (pages and routes) and
``report`` (a self-contained HTML map). Templates and static files (Leaflet, vendored) are package
data in ``templates/`` and ``static/``.
"""
