"""The training studio: Training ▸ New Training Run…, live curves of a comparison of fusion
strategies over seeds trained in a process of its own, and its comparison table."""
