"""netlists: the I&F neuron subcircuit and its model cards, installed as package data."""
