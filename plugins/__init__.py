"""Built-in plugins. Each is enabled by name through LRS_PLUGINS, like any third-party plugin."""
