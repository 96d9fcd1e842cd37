"""ccredit: comprehensive credit evaluation of SMEs inside an industrial cluster."""

__version__ = "0.1.0"
