"""What the report stage derives from the tables: delta rates and accuracy drops (:mod:`.deltarate`),
plots (:mod:`.plots`) and the listening page (:mod:`.listen`)."""
