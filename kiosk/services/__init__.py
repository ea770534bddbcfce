"""Use cases of popup-loket. Nothing here imports Flask: adapters call these classes."""
