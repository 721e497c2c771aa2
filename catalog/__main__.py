"""`python -m catalog ...` is the `catalog` command."""

from catalog.cli import main

if __name__ == "__main__":
    main()
