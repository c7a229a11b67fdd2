"""Assessment: a survey's growth signals to the site's alert level (levels, their settings, the stored assessment)."""
