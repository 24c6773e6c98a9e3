"""digits-chat: the generative model mmstudio trains on its digits dataset.

questions.py says what is asked and answered, data.py builds question/answer records from the
digits dataset, architecture.py builds the model (a small Qwen2.5-Omni thinker) with its
tokenizer and processor, batches.py turns records into model inputs, pretrain.py teaches the
encoders the digits by classification, train.py trains on the answers, evaluate.py scores it;
`python -m mmstudio.training.chat DIGITS OUT` runs the whole (feasibility) recipe.
"""
