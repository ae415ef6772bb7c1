"""`python -m fashion_mnist_study cache ...`: the console command without installing it."""

import sys

from fashion_mnist_study.tools.cli import main

sys.exit(main())
