"""Co-registration of a new survey of a site to the previous one (translation in map coordinates)."""

from geowarn.registration.coregister import Registration, register_surveys

__all__ = ["Registration", "register_surveys"]
