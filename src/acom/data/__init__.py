"""Data sets: ESC-50 ingest (:mod:`.esc50`), the synthetic ESC-50-layout corpus (:mod:`.synthetic`),
DESED-format strong-label data (:mod:`.desed`) and soundscapes synthesised from ESC-50
(:mod:`.soundscapes`). Each writes a manifest that every later stage reads."""
