"""REST API v1 (merchant servers authenticate with app id and secret)."""
