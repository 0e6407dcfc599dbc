"""`python -m lumina.cli` == `lumina`."""

from lumina.cli import main

if __name__ == "__main__":
    main()
