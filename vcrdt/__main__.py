"""`python -m vcrdt` runs the command-line interface."""

from vcrdt.cli import main

if __name__ == "__main__":
    main()
