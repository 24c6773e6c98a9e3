"""Comparisons: a second model beside the window's, modality swaps, and the side-by-side panel
that shows two analyses of either kind."""
