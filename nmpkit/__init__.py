"""nmpkit: co-design of a spiking neuron circuit with the network that runs on it."""

__version__ = "0.1.0"
