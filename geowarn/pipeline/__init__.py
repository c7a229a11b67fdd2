"""The two orchestrators: ``detect`` (one orthomosaic) and ``monitor`` (a site's surveys, stage by stage)."""
