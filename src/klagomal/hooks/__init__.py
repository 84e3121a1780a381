"""The plugin machinery.

The hook specifications, the plugin manager, the built-in plugin and the
decision hooks.
"""
