import sys

from airtable_mirror.operator_cli.main import main

sys.exit(main())
