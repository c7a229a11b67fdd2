"""Scale-out on Dask: one survey's tile rows in blocks over many workers.

``geowarn detect --cluster local:N | tcp://scheduler:8786`` (``DetectConfig.cluster``) splits the
grid's tile rows into blocks (:mod:`geowarn.scale.blocks`); each worker reads its block's windows
straight from the raster's path, runs the cascade with the same row loop as the single-process
path (:func:`geowarn.pipeline.rows.run_rows`) and writes its rows of the probability and mask
rasters as part files into the run's staging folder; the client checks that each block started
from what the block above handed on, copies the parts into place, and vectorises exactly as one
process does (:mod:`geowarn.scale.detect`). Dask is imported only here, only when a cluster is
asked for.
"""
