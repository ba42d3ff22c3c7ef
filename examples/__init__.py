"""Runnable examples shipped with pytest-dualread.

``examples.meal_log`` is a small but real read-path migration (a nutrition app's meal log)
that the plugin's own dual-read suite and end-to-end tests run against.
"""
