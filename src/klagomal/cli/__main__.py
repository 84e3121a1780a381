"""`python -m klagomal.cli`: the command line, as the `klagomal` script runs it."""

from klagomal.cli import main

raise SystemExit(main())
