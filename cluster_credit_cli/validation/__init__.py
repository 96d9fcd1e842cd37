"""Validation of the scorecard against outcomes: discrimination, calibration, stability."""
