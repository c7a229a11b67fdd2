"""Registration settings: when a survey counts as co-registered to the site's previous one.

A key of the ``rules:`` section of a site's YAML (``geowarn.workspace.site_config``).
"""

from __future__ import annotations

from pydantic import Field

from geowarn.registration.coregister import Registration
from geowarn.settings import Settings


class RegistrationSettings(Settings):
    """How good a co-registration must be for growth to be computed from the survey."""

    max_registration_residual_m: float = Field(0.1, gt=0)  # worse co-registration flags the survey

    def accepts(self, registration: Registration | None) -> bool:
        """A first survey (no registration), or one co-registered well enough to compute growth from."""
        return registration is None or (registration.ok and registration.residual_m <= self.max_registration_residual_m)
