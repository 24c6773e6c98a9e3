"""Generative multimodal models (vision-, audio- and omni-language models) from local Hugging Face
folders: loading them safely, prompting them with any coalition of the modalities, streaming
their answers and teacher-forcing an answer for its explanation.

Importing the package imports neither torch nor transformers: the registry lists it cheaply.
"""
