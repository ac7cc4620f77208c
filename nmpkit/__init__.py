"""nmpkit: co-design of a spiking neuron circuit with the network that runs on it."""

from calib.io import package_version

__version__ = package_version("nmpkit")
