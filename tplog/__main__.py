"""`python -m tplog` runs the command line."""

from tplog.entrypoint import main

if __name__ == "__main__":
    main()
