"""Cascade inference over orthomosaics: gate tiles, segment positives, stitch, vectorise."""
