"""eqia: Equality Impact Assessments on evidence.

The library is the product; the command line is a thin skin over it. In a notebook::

    import eqia
    profile = eqia.profile_frame(df, "mapping.yaml", as_of="2026-03-31")
    comparison = eqia.compare(profile, "Kent", ages="18-")

``profile_frame``, ``profile_file``, ``compare``, ``screen``, ``audit`` and
``annual_report`` live in ``eqia.api`` (docs/api.md). They are loaded on first use, so
``import eqia`` (and ``eqia --help``) does not pull in pandas.
"""

__version__ = "0.1.0"

_API = ("annual_report", "audit", "compare", "profile_file", "profile_frame", "screen")

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        from eqia import api

        return getattr(api, name)
    raise AttributeError(f"module 'eqia' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
