"""The ground floor: binary entropy and the INDEX floor/ceiling (kvtheory.information)."""

import ast
import pathlib

import numpy as np
import pytest

import kvtheory as kv
from kvtheory import communication, information


def test_information_is_the_ground_floor():
    """information.py imports only the standard library, numpy and the validators."""
    src = pathlib.Path(information.__file__).read_text()
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            assert node.module == "_validate", f"information imports .{node.module}"
        elif isinstance(node, ast.ImportFrom):
            assert node.module in ("__future__",), node.module
        elif isinstance(node, ast.Import):
            assert all(a.name == "numpy" for a in node.names)


@pytest.mark.parametrize("name", information.__all__)
def test_communication_reexports_the_same_objects(name):
    assert getattr(communication, name) is getattr(information, name)
    assert getattr(kv.information, name) is getattr(information, name)


def test_no_library_module_imports_the_bound_from_communication():
    root = pathlib.Path(kv.__file__).parent
    moved = set(information.__all__)
    offenders = []
    for path in root.rglob("*.py"):
        if path.name == "communication.py" and path.parent == root:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.ImportFrom) and node.module
                    and node.module.endswith("communication") and node.level > 0
                    and moved & {a.name for a in node.names}
                    and "experiments" not in path.parts):       # Chapter 2's own experiments
                offenders.append(str(path.relative_to(root)))
    assert offenders == []


def test_values_and_round_trip():
    assert information.H2(0.5) == pytest.approx(1.0, abs=1e-15)
    p = np.linspace(0.01, 0.5, 20)
    np.testing.assert_allclose(information.H2_inverse(information.H2(p)), p, atol=1e-10)
    assert information.index_success_ceiling(0, 10) == 0.5
    assert information.index_success_ceiling(10, 10) == 1.0
    S = information.index_bits_needed(0.1, 1000)
    assert information.index_error_floor(S, 1000) == pytest.approx(0.1, abs=1e-9)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: information.H2(-0.1), ValueError, "p must"),
    (lambda: information.H2_inverse(1.2), ValueError, "h must"),
    (lambda: information.index_error_floor(-1, 10), ValueError, "S must"),
    (lambda: information.index_success_ceiling(1, 0), ValueError, "N must"),
    (lambda: information.index_bits_needed(0.7, 10), ValueError, "p must"),
])
def test_bad_inputs(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
