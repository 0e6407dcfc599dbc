"""``python -m lumina.jobs run ID`` — the entry point of a worker process."""

import sys

from lumina.jobs.worker import run

if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "run" or not sys.argv[2].isdigit():
        print("usage: python -m lumina.jobs run JOB_ID", file=sys.stderr)
        sys.exit(2)
    sys.exit(run(int(sys.argv[2])))
