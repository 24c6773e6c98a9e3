"""The result views of one analysis (prediction, contributions, interactions, fusion attention,
the image, text and audio maps) and the plotting helpers they share."""
