"""Dataset digests, computed as MLflow 3 computes them, so the same data gets the same
8-character digest in lighttrack and in MLflow (a test checks against real MLflow).

pandas: the first 10,000 rows of the string and numeric columns (MLflow's column order: sorted
by the Index union), hashed with ``pandas.util.hash_pandas_object`` (index included), plus the
row count and every column name. numpy: the first 10,000 flattened elements of each array
(``pandas.util.hash_array``; the element count when they cannot be hashed) and every dimension.
"""

from __future__ import annotations

import hashlib
from typing import Any

from lighttrack.errors import InvalidArgument

MAX_ROWS = 10000
# numpy dtype kinds whose values are never exactly ``str`` (numbers, bools, dates): MLflow's
# per-cell type check can skip them, which is what makes it cheap on wide numeric frames.
_NEVER_STR_KINDS = set("biufcmM")


def _string_column_mask(df: Any) -> Any:
    """MLflow's "every cell of the column is a str" test (over the whole frame, not the head)."""
    import numpy as np

    mask = np.zeros(len(df.columns), dtype=bool)
    candidates = [i for i, dtype in enumerate(df.dtypes) if getattr(dtype, "kind", "O") not in _NEVER_STR_KINDS]
    if candidates:
        part = df.iloc[:, candidates]
        types = part.map(type) if hasattr(part, "map") else part.applymap(type)
        mask[candidates] = (types == str).all(axis=0).to_numpy()
    return mask


def compute_pandas_digest(df: Any) -> str:
    import numpy as np
    import pandas as pd

    trimmed = df.head(MAX_ROWS)
    string_columns = trimmed.columns[_string_column_mask(df)]
    numeric_columns = trimmed.select_dtypes(include=[np.number]).columns
    trimmed = trimmed[string_columns.union(numeric_columns)]
    return get_normalized_md5_digest(
        [pd.util.hash_pandas_object(trimmed).values, np.int64(len(df))] + [str(c).encode() for c in df.columns]
    )


def compute_numpy_digest(features: Any, targets: Any = None) -> str:
    import numpy as np
    import pandas as pd

    elements: list[Any] = []

    def add(array: Any) -> None:
        head = array.flatten()[0:MAX_ROWS]
        try:
            elements.append(pd.util.hash_array(head))
        except TypeError:
            elements.append(np.int64(head.size))
        elements.extend(np.int64(n) for n in array.shape)

    for item in (features, targets):
        if item is None:
            continue
        if isinstance(item, dict):
            for key in sorted(item):
                add(item[key])
        else:
            add(item)
    return get_normalized_md5_digest(elements)


def get_normalized_md5_digest(elements: list[Any]) -> str:
    """The first 8 hex characters of the md5 of the elements' bytes (a fingerprint, not security)."""
    if not elements:
        raise InvalidArgument("a digest needs at least one element to hash")
    md5 = hashlib.md5(usedforsecurity=False)
    for element in elements:
        md5.update(element)
    return md5.hexdigest()[:8]
