"""Alembic migrations of popup-loket; run them with `loket db upgrade`."""
