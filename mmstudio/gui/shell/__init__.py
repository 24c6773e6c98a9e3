"""The window's frame: the application, the main window, its menus, settings, status bar,
banner and theme. Everything a person sees inside it lives in the sibling packages."""
