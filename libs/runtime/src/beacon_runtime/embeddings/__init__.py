from beacon_runtime.embeddings.port import Embedder, SparseEncoder

__all__ = ["Embedder", "SparseEncoder"]
