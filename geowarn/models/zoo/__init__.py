"""Model zoo: architectures from the crack-detection literature, registered by name.

Submodules import torchvision on demand; the registry builds them through
:mod:`geowarn.models.zoo.catalog` so that listing models stays fast.
"""
