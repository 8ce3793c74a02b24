"""eqia: Equality Impact Assessments on evidence.

The library is the product; the CLI is a thin skin over it. Analysts can do
``from eqia import profile_file, compare`` and get the tables the CLI shows.
"""

__version__ = "0.1.0"

from eqia.analysis.compare import compare  # noqa: E402
from eqia.analysis.profiling import profile_file  # noqa: E402

__all__ = ["__version__", "compare", "profile_file"]
