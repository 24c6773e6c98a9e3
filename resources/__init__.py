"""Shipped data, installed as the package ``mmstudio._resources`` (see setup.py): the default
model's weights and card, and the sample inputs. Found through mmstudio.resources."""
