"""Widget callbacks, headless: move a control, check the redrawn figure."""

import numpy as np
import pytest

import kvtheory as kv


def test_exact_memory_widget_redraws_with_new_parameters():
    w = kv.widgets.exact_memory_widget()
    controls = {c.description: c for c in w.children[:-1]}
    controls["n"].value = 200
    controls["d"].value = 16
    controls["bits"].value = 32
    fig = w.result
    ax = fig.axes[0]
    measured = ax.lines[0]
    x, y = np.asarray(measured.get_xdata()), np.asarray(measured.get_ydata())
    assert x[-1] == 200
    # measured ledger: 2 * n * d * 32 + the 64-bit counter
    np.testing.assert_array_equal(y, 2 * x * 16 * 32 + 64)


def test_figure_widget_rejects_non_widgets():
    with pytest.raises(TypeError, match="control 'n'"):
        kv.widgets.figure_widget(lambda n: None, n=5)


def test_exact_memory_curves_reject_bad_bits():
    with pytest.raises(ValueError, match="bits_per_number"):
        kv.experiments.streaming.exact_memory_curves(n=10, ds=(4,), bits_per_number=8)


def test_plot_exact_memory_only_plots_the_records():
    import matplotlib.pyplot as plt

    recs = kv.experiments.streaming.exact_memory_curves(n=30, ds=(2, 5), bits_per_number=16,
                                                        points=3)
    fig, ax = plt.subplots()
    assert kv.viz.plot_exact_memory(recs, ax=ax) is fig
    np.testing.assert_array_equal(ax.lines[2].get_ydata(), recs[1]["bits"])
    np.testing.assert_array_equal(ax.lines[3].get_ydata(), 2 * recs[1]["steps"] * 5 * 16)
    plt.close(fig)
    with pytest.raises(ValueError, match="records"):
        kv.viz.plot_exact_memory([])
    with pytest.raises(TypeError, match="records"):
        kv.viz.plot_exact_memory([{"steps": [1]}])


def test_figure_axes_pair_makes_or_takes_two_axes_and_rejects_others():
    import matplotlib.pyplot as plt

    from kvtheory.viz._style import figure_axes_pair

    fig, (a, b) = figure_axes_pair()
    assert a.figure is fig and b.figure is fig
    fig2, grid = plt.subplots(1, 3)
    got_fig, (c, d) = figure_axes_pair(grid[:2])
    assert got_fig is fig2 and (c, d) == (grid[0], grid[1])
    with pytest.raises(ValueError, match="2 Axes"):
        figure_axes_pair(grid)
    with pytest.raises(TypeError, match="Axes"):
        figure_axes_pair([grid[0], "not an axes"])
    plt.close("all")


def test_figure_axes_grid_counts_exactly_or_at_least():
    import matplotlib.pyplot as plt

    from kvtheory.viz._style import figure_axes_grid

    fig, axs = figure_axes_grid(n=4, ncols=2, nrows=2)
    assert len(axs) == 4 and all(a.figure is fig for a in axs)
    fig2, grid = plt.subplots(1, 3)
    assert figure_axes_grid(grid, n=2, at_least=True)[1] == list(grid)
    with pytest.raises(ValueError, match="at least 4 Axes, got 3"):
        figure_axes_grid(grid, n=4, at_least=True)
    with pytest.raises(ValueError, match="2 Axes, got 3"):
        figure_axes_grid(grid, n=2)
    with pytest.raises(TypeError, match="Axes"):
        figure_axes_grid([grid[0], 3], n=2)
