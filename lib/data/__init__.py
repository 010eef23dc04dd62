"""Datasets in their official layouts, the paper's variants, the synthetic set, the loader."""
