"""Training of GoClassify's MNIST classifier: run ``python -m train --help``."""
