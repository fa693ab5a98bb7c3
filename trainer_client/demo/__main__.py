"""``python -m trainer_client.demo --out DIR``: see :mod:`trainer_client.demo.run`."""

import sys

from trainer_client.demo.run import main

sys.exit(main())
