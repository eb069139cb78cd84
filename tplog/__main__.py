"""`python -m tplog` runs the command line."""

from tplog.cli import main

if __name__ == "__main__":
    main()
