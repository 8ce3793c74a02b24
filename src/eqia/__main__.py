"""``python -m eqia``: the ``eqia`` command where its script is not on PATH (a Windows
venv not activated, a notebook's ``!python -m eqia ...``)."""

from eqia.cli import main

if __name__ == "__main__":
    main()
