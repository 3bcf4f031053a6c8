from __future__ import annotations

import pytest

from tests.factories.scheduling import Clinic, clinic_setup


@pytest.fixture
def clinic(in_a) -> Clinic:
    return clinic_setup(in_a)
