"""The study's computations: what the workflow's jobs compute, with NumPy and PyTorch.

`download` fetches and verifies Fashion-MNIST; `data` reads the IDX files and draws the
splits; `filters` runs the shallow convolution and pooling in NumPy and in PyTorch; `models`
builds the CNN and the MLP from their settings; `devices` picks the device a training runs on
and says what each kind supports; `precision` sets float32, bfloat16 or TF32; `training/`
trains one model resumably; `predictions` stores its test predictions.

May use `core` only: nothing here knows of the analysis, the outputs, the cache or the tools.
"""
