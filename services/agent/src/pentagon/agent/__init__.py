"""The bilingual RAG agent behind a gRPC server."""
