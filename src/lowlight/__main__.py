import sys

from lowlight.cli import main

sys.exit(main())
