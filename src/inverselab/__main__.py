import sys

from .cli import main

if __name__ == "__main__":  # guarded: bench --jobs starts worker processes with spawn
    sys.exit(main())
