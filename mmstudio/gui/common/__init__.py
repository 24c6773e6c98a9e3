"""What every part of the window shares: the theme and its colours, pyqtgraph's one-time
set-up, the settings store, and how an unavailable model is described. It imports no other
part of the window, so every part can import it."""
