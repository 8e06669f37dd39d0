"""Every registered certificate holds, and its deliberately wrong variant fails.

This is generic over the registry, so a certificate added anywhere in
``kvtheory.bounds`` is checked both ways without further code.
"""

import pytest

import kvtheory as kv

FUNCS = kv.bounds.certificate_functions()


def test_registry_is_not_empty_and_chapters_are_numbered():
    assert FUNCS
    for cert in kv.bounds.certificates():
        assert isinstance(cert.chapter, int) and cert.chapter >= 1


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_certificate_holds(name):
    cert = FUNCS[name]()
    assert cert.holds, f"{name}: {cert.how}"
    assert cert.name == name and cert.statement


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_wrong_variant_fails(name):
    cert = FUNCS[name](wrong=True)
    assert not cert.holds, f"{name}: the wrong variant passed, so the check cannot fail"


def test_certificates_filter_by_chapter():
    ch1 = kv.bounds.certificates(chapter=1)
    assert [c.name for c in ch1] == ["softmax_shift_invariance"]
    with pytest.raises(TypeError, match="chapter"):
        kv.bounds.certificates(chapter="1")
