"""GoClassify's model: the network definition and the image preprocessing it was trained with."""
