"""What the HTTP handlers share: response models and the mapping of errors to HTTP statuses."""
