"""nmpkit.studies: the study's experiments (evaluate, tradeoff, modulation, cosim_check)."""
