r"""Symbolic certificates of every inequality the book's proofs use.

``kvtheory.bounds.certificates()`` checks them all and returns a list of
:class:`Certificate` records; ``certificates(chapter=k)`` restricts to one
chapter. Each certificate function also accepts ``wrong=True``, which runs the
same check on a deliberately wrong variant that must fail.
"""

from . import (
                    balance,  # noqa: F401  (Chapter 11 certificates; registers on import)
                    bench,  # noqa: F401  (Chapter 9 certificates; registers on import)
                    cellprobe,  # noqa: F401  (Chapter 8 certificates; registers on import)
                    index,  # noqa: F401  (Chapter 3 certificates; registers on import)
                    lowdim,  # noqa: F401  (Chapter 4 certificates; registers on import)
)
from ._core import (
                    Certificate,
                    certificate_functions,
                    certificates,
                    register,
                    sympy_is_true,
                    sympy_is_zero,
)
from .communication import (
                    binary_entropy_concave,
                    entropy_half_chord,
                    index_bound_rearranged,
                    index_jensen_step,
                    one_minus_entropy_positive_decreasing,
)
from .lowdim import (
                    lowdim_circle_coherence,
                    lowdim_code_weight_bound,
                    lowdim_hamming_ball_entropy,
                    lowdim_packing_volume,
                    lowdim_spherical_code_angle,
                    lowdim_threshold_for_e_to_d,
)
from .real import real_mean_key_invariance, real_subset_attention_identity
from .softmax import softmax_shift_invariance
from .sparsity import (
                    sparsity_all_pairs_dimension,
                    sparsity_profile_at_last_step,
                    sparsity_profile_decreasing,
)
from .subgen import (
                    subgen_choice_of_t,
                    subgen_cluster_weight_ratio,
                    subgen_frobenius_rank,
                    subgen_ratio_bound,
                    subgen_second_moment,
                    subgen_slot_law,
                    subgen_space_sublinear,
)
from .window import unmasked_window_update, window_index_conditions

__all__ = ["Certificate", "certificates", "certificate_functions", "register",
           "sympy_is_zero", "sympy_is_true", "softmax_shift_invariance",
           "binary_entropy_concave", "one_minus_entropy_positive_decreasing",
           "entropy_half_chord", "index_jensen_step", "index_bound_rearranged",
           "sparsity_profile_decreasing", "sparsity_profile_at_last_step",
           "sparsity_all_pairs_dimension", "unmasked_window_update",
           "window_index_conditions",
           "subgen_frobenius_rank", "subgen_second_moment", "subgen_slot_law",
           "subgen_choice_of_t", "subgen_ratio_bound", "subgen_cluster_weight_ratio",
           "subgen_space_sublinear",
           "lowdim_hamming_ball_entropy", "lowdim_spherical_code_angle",
           "lowdim_code_weight_bound", "lowdim_circle_coherence", "lowdim_packing_volume",
           "lowdim_threshold_for_e_to_d",
           "real_subset_attention_identity", "real_mean_key_invariance"]
