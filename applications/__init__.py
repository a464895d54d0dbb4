"""Discrete VAE encoders used as feature extractors, against standard baselines.

Runnable modules (see applications/README.md):

- `python -m applications.semantic_hashing`: Hamming-ranking retrieval
  with DVAE++ codes against LSH, PCA-ITQ and a continuous VAE.
- `python -m applications.few_label`: logistic regression on encoder
  features with 100 and 1,000 labels against pixels and PCA.
- `python -m applications.clustering`: a categorical VAE's latent as the
  cluster assignment against k-means.
"""
