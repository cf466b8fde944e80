"""chargesim: virtual OCPP charging stations (engine + drivers)."""
__version__ = "0.1.0"
