import sys

from kam_core.cli import lean_start, main

lean_start(sys.argv[1:])
sys.exit(main())
