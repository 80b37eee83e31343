"""The farm's worker side: the gate, chunk and assemble tasks of a bundle (:mod:`.tasks`)."""
