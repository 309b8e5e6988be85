"""Side-by-side speed comparison of fastembed-static with the libraries it replaces: see sidebyside/__init__.py.

    python asv_bench/compare.py --compare [--quick] [--dims 1024,256] [--modes 1,default] [--json] [--output FILE]

Runs from any directory and imports the *installed* fastembed_static (this script's folder, asv_bench/, is first
on sys.path; the repository root is not).
"""

import sys

from sidebyside.cli import main

if __name__ == "__main__":
    sys.exit(main())
