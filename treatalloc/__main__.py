import sys

from treatalloc.cli import main

sys.exit(main())
