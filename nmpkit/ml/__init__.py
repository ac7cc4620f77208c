"""nmpkit.ml: datasets, the study's networks (the zoo) and their training."""
