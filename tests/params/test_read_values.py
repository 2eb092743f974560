"""Reading a list of Python cells as a column: the pandas-free reading of a long column of one type."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from infinityframe.params.cells import read_values
from infinityframe.params.spec import ParamSpec

_column_cells = st.sampled_from([
    st.floats(-1e6, 1e6), st.floats(allow_nan=True), st.integers(-(2**63), 2**63 - 1), st.integers(2**63, 2**64),
    st.booleans(), st.none(), st.one_of(st.integers(0, 9), st.floats(0, 9)),
])


class TestPlainColumns:
    """A long column of one Python type is read without pandas: as the cell-by-cell reading (the
    reading of a short column, and of any mixed one) reads it."""

    @given(st.sampled_from(["int", "float", "bool", "str"]), _column_cells.flatmap(
        lambda cells: st.lists(cells, min_size=256, max_size=300)))
    @settings(max_examples=150, deadline=None)
    def test_the_same_reading_as_cell_by_cell(self, kind: str, values: list[Any]) -> None:
        param = ParamSpec("x", kind, None)
        whole = read_values(values, param)
        parts = [read_values(values[i:i + 128], param) for i in range(0, len(values), 128)]  # short: cell by cell
        assert whole.codes.tolist() == np.concatenate([p.codes for p in parts]).tolist()
        assert whole.present.tolist() == np.concatenate([p.present for p in parts]).tolist()
        assert whole.python() == [v for p in parts for v in p.python()]
        # Of the same types too (1 and 1.0 are equal, but JSON writes them apart): a column kept as
        # its cells (Values.given) holds only cells of the parameter's own type.
        assert [type(v) for v in whole.python()] == [type(v) for p in parts for v in p.python()]
