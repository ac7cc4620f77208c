"""Shared fixtures of the circuit tests: the ngspice skip marker and the default design."""

import pytest

from circuits.design import default_design
from circuits.ngspice import available

needs_ngspice = pytest.mark.skipif(not available(), reason="libngspice (Debian libngspice0) "
                                   "not installed")


@pytest.fixture
def design():
    return default_design()
