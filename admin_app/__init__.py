"""Upwatch admin app (Flask). Built in a later issue."""
