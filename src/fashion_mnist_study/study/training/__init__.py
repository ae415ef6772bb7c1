"""Train one model on tensors held in memory (on the GPU when there is one), resumably.

`loop` is the training loop in one screen; `step` the optimizer step, the epoch, evaluation
and prediction; `checkpoints` the per-epoch state a killed job resumes from; `run` a job's
bookkeeping: the process set up, its start-up timed, its outputs written.
"""
