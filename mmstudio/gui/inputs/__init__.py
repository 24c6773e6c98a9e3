"""The input cards: image, text and audio (microphone, playback, level meter), what a drop or a
paste carries, decoding files off the GUI thread, and the shipped examples."""
