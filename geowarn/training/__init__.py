"""Training of the shipped crack models on folders of real imagery."""
