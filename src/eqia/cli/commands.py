"""Import every command module so that it registers on the app."""

from eqia.cli import (  # noqa: F401
    audit_cmd,
    baselines_cmd,
    compare_cmd,
    map_cmd,
    profile_cmd,
    report_cmd,
    screen_cmd,
)
