"""The credit model: config/model.toml loaded and validated (``config``), safe field arithmetic (``expr``)."""
