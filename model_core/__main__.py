import sys

from model_core.cli import main

sys.exit(main())
