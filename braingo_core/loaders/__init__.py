"""Connectome loaders: BAAIWorm directory layout (C. elegans) and generic CSV/JSON edge lists."""
