"""Built-in plugins. Each is enabled by name through LRS_PLUGINS, like any third-party plugin.

The folder is `plugins/`, but it installs as `lrs_plugins` (setup.cfg `package_dir`): a top-level
`plugins` package is shipped by other distributions too (python-see, for one) and would overwrite
ours in a shared environment. Imported as `plugins` (from the repository's root on sys.path), its
modules would load a second time beside `lrs_plugins`, with state and classes of their own: refused.
"""
if __name__ != "lrs_plugins":
    raise ImportError(f"import lrs_plugins, not {__name__}: the folder plugins/ installs under that name")
