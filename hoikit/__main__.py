import sys

from hoikit.cli import main

sys.exit(main())
