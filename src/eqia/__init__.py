"""eqia: Equality Impact Assessments on evidence.

The library is the product; the CLI is a thin skin over it. Analysts can do
``from eqia import profile_file`` and get the tables the CLI shows.
"""

__version__ = "0.1.0"
