"""LoRA adapter training: the dataset builder and the trainer.

The dataset builder is pure Python; the trainer imports torch, transformers and peft inside
its functions, so importing this package costs nothing on the bot's path.
"""
