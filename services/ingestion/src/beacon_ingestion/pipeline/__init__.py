"""download -> parse -> chunk -> embed -> index: the run (`runner`), its stages' parts
(`download`, `parsing`, `chunking`) and what it says on the bus (`events`)."""
