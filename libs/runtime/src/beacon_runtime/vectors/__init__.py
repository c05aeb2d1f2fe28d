from beacon_runtime.vectors.port import ScoredPoint, SparseVector, VectorPoint, VectorStore

__all__ = ["ScoredPoint", "SparseVector", "VectorPoint", "VectorStore"]
