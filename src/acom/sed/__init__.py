"""Sound event detection on frozen frame embeddings: the head and its training (:mod:`.heads`), decoding
to events (:mod:`.decode`), sed_eval metrics (:mod:`.metrics`) and the cross-validation protocol
(:mod:`.protocol`)."""
