import sys

from lineprof.cmdline import main

sys.exit(main())
