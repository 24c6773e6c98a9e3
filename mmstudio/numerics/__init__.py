"""What numbers a model computes in, and where they stop being numbers: the dtype of its
real forward pass, and the diagnosis of a NaN or an infinity in its scores."""
