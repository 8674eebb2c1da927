import sys

from deployer.cli.main import main

sys.exit(main())
