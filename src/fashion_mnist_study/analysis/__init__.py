"""From the trainings' outputs to evidence.

`results` reads the trainings' results and curves, each checked against its checksums, and
summarizes them over seeds; `evidence` holds the statistics (Wilson, Newcombe and t
intervals, McNemar, Welch, Holm) from SciPy and statsmodels; `comparisons` compares models on
the same test images; `per_class` looks at where models differ, class by class, and
`examples` tiles the test images one model gets right and the other wrong.

May use `study` and `core`; knows nothing of the figures, the report or the tools.
"""
