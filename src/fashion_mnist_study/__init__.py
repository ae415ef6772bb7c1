"""Reproduce a Fashion-MNIST coursework study: filters, CNNs and an MLP.

Importing the package is cheap: modules that need torch import it themselves, so the
Snakefile can use the light helpers without slowing every dry run.
"""
