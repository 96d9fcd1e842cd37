"""Unattended batch runs on a shared drive: inbox rounds, the run lock, the manifest."""
